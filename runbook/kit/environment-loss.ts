import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Binding } from '../../src/exec/binding.ts';
import { issueToken } from '../../src/probes/jwt-continuity-probe.ts';
import { NMIA_API_ROUTES } from '../../src/probes/probe.ts';
import type { AcknowledgedSentinel } from '../../src/probes/recovery-point.ts';
import { ApiSentinelWriter } from '../../src/probes/api-sentinel-writer.ts';
import { harnessDump } from './disasters.ts';
import { handOver, sectionDecrypts } from './restore-input.ts';
import { waitForHttp } from '../../src/drill/drill-environment.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { AppSource } from '../../src/app/app-source.ts';
import { OVERRIDE_FILE } from '../../src/app/compose-override.ts';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'nmia-drill',
  GIT_AUTHOR_EMAIL: 'nmia-drill@localhost',
  GIT_COMMITTER_NAME: 'nmia-drill',
  GIT_COMMITTER_EMAIL: 'nmia-drill@localhost',
};

/** The recovery checklist's name for the most recent backup, from off-host storage. */
export const OFFSITE_PLACEHOLDER = '/path/to/nmia_backup.dump';
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
  /** The RPO writes' enclaves are named `<rpoPrefix><n>`; unset when the procedure made none. */
  rpoPrefix?: string;
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

/** The app under drill when it is a repository (--app): the runbook's `git clone <repo-url>` clones that very source. */
export function appRepository(context: ProcedureContext): Extract<AppSource, { kind: 'repository' }> | undefined {
  const app = context.drill.app;
  return app?.kind === 'repository' ? app : undefined;
}

/**
 * The fresh clone of an app repository lacks the harness's override (no registry here, loopback ports,
 * labels): written next to its compose file right before the runbook first starts a service, as recorded.
 */
export function overrideCheckpoints(context: ProcedureContext): Array<{ beforeCommand: string; run: () => Promise<void> }> {
  const setup = context.stack.appSetup;
  if (!appRepository(context) || !setup) return [];
  return [
    {
      // The first `docker compose up` of the block, as written or corrected (`up -d --wait db`).
      beforeCommand: 'docker compose up',
      run: () =>
        context.harnessAction(
          "environment: the harness's docker-compose.override.yml next to the freshly cloned compose file (the additions in the journal's app record)",
          `write ${join(context.projectDir, OVERRIDE_FILE)}`,
          () => writeFile(join(context.projectDir, OVERRIDE_FILE), setup.overrideYaml),
        ),
    },
  ];
}

/** The enclaves the RPO writes create through the app's api are named `<prefix><n>` (this drill's only). */
export function rpoSentinelPrefix(context: ProcedureContext): string {
  return `nmia-drill-rpo-${context.drill.journal.drillId.slice(0, 8)}-`;
}

/**
 * Before a total loss: the repository, the latest backup kept off the host, and a token issued now.
 * With `rpoWrites`: enclaves created through the app's own POST route (the reference and the real app alike),
 * then the most recent backup, then more writes until the disaster, so the RPO is the time from the backup to
 * the disaster as the app's own data shows it.
 */
export async function prepareRecovery(context: ProcedureContext, options: { rpoWrites?: boolean } = {}): Promise<RecoveryInputs> {
  const inputs = recoveryInputs(context);
  const repository = appRepository(context);
  const apiUrl = context.stack.serviceUrl('api', 8000);
  inputs.preDisasterToken = await context.harnessAction(
    'SECRET_KEY continuity: log in as the admin before the disaster and keep the token',
    `POST ${NMIA_API_ROUTES.login}`,
    async () => {
      await waitForHttp(`${apiUrl}/health`, 60_000);
      return issueToken(apiUrl, { username: 'admin', password: context.drill.canaries.adminPassword });
    },
  );
  const dump = context.artifact('custom-dump');
  if (options.rpoWrites) {
    const token = inputs.preDisasterToken;
    const prefix = rpoSentinelPrefix(context);
    const writer = await context.harnessAction(
      `RPO: writes through the app's own api (POST ${NMIA_API_ROUTES.enclaves}, enclaves named ${prefix}<n>) before the backup`,
      `POST ${NMIA_API_ROUTES.enclaves} every 500 ms`,
      async () => {
        const started = await ApiSentinelWriter.start({ apiUrl, token, prefix });
        for (const deadline = Date.now() + 15_000; (started.newest()?.id ?? 0) < 3 && Date.now() < deadline; )
          await new Promise((resolve) => setTimeout(resolve, 100));
        await started.pause();
        return started;
      },
    );
    // The most recent backup, taken between writes: what the recovery restores, and where the RPO starts.
    await harnessDump(context, 'custom');
    writer.resume();
    context.environment.sentinels = writer;
    inputs.rpoPrefix = prefix;
  } else if (!dump || !existsSync(dump.path)) {
    // After an earlier recovery in the same environment, the install directory (and ./backups) was lost with it.
    await harnessDump(context, 'custom');
  }
  if (!repository) await publishRepository(context, inputs.bareRepo);
  // Kept off the host as the section restores it: encrypted when its step 4 decrypts `/path/to/nmia_backup.dump.gpg`.
  const encrypted = sectionDecrypts(context, OFFSITE_PLACEHOLDER);
  await context.harnessAction('prerequisite: the most recent backup, kept off the host', `copy → ${inputs.offsiteDump}`, async () => {
    await mkdir(join(inputs.offsiteDump, '..'), { recursive: true });
    await handOver(context, context.artifact('custom-dump')!.path, inputs.offsiteDump, encrypted);
  });
  return inputs;
}

export function recoveryBindings(context: ProcedureContext, secretKey: { value: string; reason: string }): Binding[] {
  const { bareRepo, offsiteDump } = recoveryInputs(context);
  const repository = appRepository(context);
  return [
    repository
      ? {
          placeholder: '<repo-url>',
          value: repository.location,
          reason: `the NMIA repository under drill (--app)${repository.ref ? `; the runbook's clone takes its default branch, not #${repository.ref}` : ''}`,
        }
      : {
          placeholder: '<repo-url>',
          value: `file://${bareRepo}`,
          reason: 'a local Git repository of the compose project, made by the harness',
        },
    { placeholder: '/opt/nmia', value: context.projectDir, reason: 'the recovery host’s install directory, inside the drill workspace' },
    { placeholder: '<original-secret-key>', value: secretKey.value, reason: secretKey.reason },
    { placeholder: OFFSITE_PLACEHOLDER, value: offsiteDump, reason: 'the most recent custom-format backup, from off-host storage' },
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
