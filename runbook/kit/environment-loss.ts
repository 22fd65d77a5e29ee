import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Binding } from '../../src/exec/binding.ts';
import { SentinelWriter } from '../../src/probes/sentinel-writer.ts';
import type { AcknowledgedSentinel } from '../../src/probes/sentinel-writer.ts';
import { harnessDump } from './disasters.ts';
import { waitForHttp } from '../../src/drill/drill-environment.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'nmia-drill',
  GIT_AUTHOR_EMAIL: 'nmia-drill@localhost',
  GIT_COMMITTER_NAME: 'nmia-drill',
  GIT_COMMITTER_EMAIL: 'nmia-drill@localhost',
};

/** What a recovery from total loss starts with, and what the harness measured at the disaster. */
export interface RecoveryInputs {
  bareRepo: string;
  offsiteDump: string;
  recoveryHome: string;
  /** A token issued before the disaster (never journaled). */
  preDisasterToken?: string;
  disasterAt?: Date;
  /** The newest sentinel write the api acknowledged before the disaster. */
  acknowledged?: AcknowledgedSentinel;
}

export function recoveryInputs(context: ProcedureContext): RecoveryInputs {
  const harness = context.stack.workspace.harnessDir;
  const inputs = (context.scratch.recovery as RecoveryInputs | undefined) ?? {
    bareRepo: join(harness, 'git', 'nmia.git'),
    offsiteDump: join(harness, 'offsite', 'nmia_backup.dump'),
    recoveryHome: context.stack.workspace.root,
  };
  context.scratch.recovery = inputs;
  return inputs;
}

/** The NMIA repository the runbook clones: the compose project without .env and backups, as .gitignore keeps them out. */
async function publishRepository(context: ProcedureContext, bareRepo: string): Promise<void> {
  const staging = join(context.stack.workspace.harnessDir, 'git', 'staging');
  await context.harnessAction(
    'prerequisite: a Git repository of the NMIA compose project',
    `git init/commit/clone --bare → ${bareRepo}`,
    async () => {
      await rm(bareRepo, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      await copyFile(join(context.projectDir, 'docker-compose.yml'), join(staging, 'docker-compose.yml'));
      await writeFile(join(staging, '.gitignore'), '.env\nbackups/\n');
      const git = (args: string[], cwd = staging) => execa('git', args, { cwd, env: GIT_ENV });
      await git(['init', '-q', '-b', 'main']);
      await git(['add', '-A']);
      await git(['commit', '-q', '-m', 'NMIA compose project']);
      await git(['clone', '-q', '--bare', staging, bareRepo], context.stack.workspace.harnessDir);
      await rm(staging, { recursive: true, force: true });
    },
  );
}

/** Before a total loss: the repository, the latest backup kept off the host, and a token issued now. */
export async function prepareRecovery(context: ProcedureContext): Promise<RecoveryInputs> {
  const inputs = recoveryInputs(context);
  // After an earlier recovery in the same environment, the install directory (and ./backups) was lost with it.
  const dump = context.artifact('custom-dump');
  if (!dump || !existsSync(dump.path)) await harnessDump(context, 'custom');
  await publishRepository(context, inputs.bareRepo);
  await context.harnessAction('prerequisite: the most recent backup, kept off the host', `copy → ${inputs.offsiteDump}`, async () => {
    await mkdir(join(inputs.offsiteDump, '..'), { recursive: true });
    await copyFile(context.artifact('custom-dump')!.path, inputs.offsiteDump);
  });
  const apiUrl = context.stack.serviceUrl('api', 8000);
  inputs.preDisasterToken = await context.harnessAction(
    'SECRET_KEY continuity: log in as the admin before the disaster and keep the token',
    'POST /api/auth/login',
    async () => {
      await waitForHttp(`${apiUrl}/health`, 60_000);
      return SentinelWriter.login(apiUrl, { username: 'admin', password: context.drill.canaries.adminPassword });
    },
  );
  return inputs;
}

export function recoveryBindings(context: ProcedureContext, secretKey: { value: string; reason: string }): Binding[] {
  const { bareRepo, offsiteDump } = recoveryInputs(context);
  return [
    {
      placeholder: '<repo-url>',
      value: `file://${bareRepo}`,
      reason: 'a local Git repository of the compose project, made by the harness',
    },
    { placeholder: '/opt/nmia', value: context.projectDir, reason: 'the recovery host’s install directory, inside the drill workspace' },
    { placeholder: '<original-secret-key>', value: secretKey.value, reason: secretKey.reason },
    { placeholder: '/path/to/nmia_backup.dump', value: offsiteDump, reason: 'the most recent custom-format backup, from off-host storage' },
  ];
}

/** The disaster in words, as the journal records it and `nmia-drill plan` announces it. */
export const ENVIRONMENT_LOSS = 'complete environment loss';

/** Complete environment loss: writes stop, every container and volume of the project and the install directory are gone. */
export async function loseEnvironment(context: ProcedureContext): Promise<void> {
  const inputs = recoveryInputs(context);
  inputs.disasterAt = new Date();
  const writer = context.environment.sentinels;
  if (writer) {
    const acknowledged = writer.newestAcknowledgedBy(inputs.disasterAt);
    if (acknowledged) inputs.acknowledged = acknowledged;
    await writer.stop();
    delete context.environment.sentinels;
  }
  await context.harnessDocker(`disaster: ${ENVIRONMENT_LOSS} — every container and volume of the project is gone`, [
    'compose',
    'down',
    '-v',
  ]);
  await context.harnessAction(`disaster: ${ENVIRONMENT_LOSS} — the install directory is gone`, `rm -rf ${context.projectDir}`, () =>
    rm(context.projectDir, { recursive: true, force: true }),
  );
  context.setWorkingDirectory(inputs.recoveryHome);
}
