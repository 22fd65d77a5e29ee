import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { harnessDump } from '../../src/drill/disasters.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const GIT_ENV = { GIT_AUTHOR_NAME: 'nmia-drill', GIT_AUTHOR_EMAIL: 'nmia-drill@localhost', GIT_COMMITTER_NAME: 'nmia-drill', GIT_COMMITTER_EMAIL: 'nmia-drill@localhost' };

function paths(context: ProcedureContext) {
  const harness = context.stack.workspace.harnessDir;
  return { bareRepo: join(harness, 'git', 'nmia.git'), offsiteDump: join(harness, 'offsite', 'nmia_backup.dump'), recoveryHome: context.stack.workspace.root };
}

/** The NMIA repository the runbook clones: the compose project, without .env and backups (as .gitignore keeps them out). */
async function publishRepository(context: ProcedureContext): Promise<void> {
  const { bareRepo } = paths(context);
  const staging = join(context.stack.workspace.harnessDir, 'git', 'staging');
  await context.harnessAction('prerequisite: a Git repository of the NMIA compose project', `git init/commit/clone --bare → ${bareRepo}`, async () => {
    await mkdir(staging, { recursive: true });
    await copyFile(join(context.projectDir, 'docker-compose.yml'), join(staging, 'docker-compose.yml'));
    await writeFile(join(staging, '.gitignore'), '.env\nbackups/\n');
    const git = (args: string[], cwd = staging) => execa('git', args, { cwd, env: GIT_ENV });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'NMIA compose project']);
    await git(['clone', '-q', '--bare', staging, bareRepo], context.stack.workspace.harnessDir);
    await rm(staging, { recursive: true, force: true });
  });
}

/**
 * Disaster Recovery Checklist › Recovery Steps 1–5, the database part: after a complete environment loss,
 * clone, write .env, start db, restore the most recent backup, start everything.
 */
export const drRecovery: Procedure = {
  id: 'dr-recovery',
  title: 'Disaster recovery: rebuild the environment from Git and the latest backup',
  kind: 'recovery',
  section: 'Disaster Recovery Checklist › Recovery Steps',
  blocks: [0, 1, 2, 3, 4],

  async prepare(context) {
    if (!context.artifact('custom-dump')) await harnessDump(context, 'custom');
    await publishRepository(context);
    const { offsiteDump } = paths(context);
    await context.harnessAction('prerequisite: the most recent backup, kept off the host', `copy → ${offsiteDump}`, async () => {
      await mkdir(join(offsiteDump, '..'), { recursive: true });
      await copyFile(context.artifact('custom-dump')!.path, offsiteDump);
    });
  },

  bindings(context) {
    const { bareRepo, offsiteDump } = paths(context);
    return [
      { placeholder: '<repo-url>', value: `file://${bareRepo}`, reason: 'a local Git repository of the compose project, made by the harness' },
      { placeholder: '/opt/nmia', value: context.projectDir, reason: 'the recovery host’s install directory, inside the drill workspace' },
      { placeholder: '<original-secret-key>', value: context.drill.canaries.secretKey, reason: 'the SECRET_KEY of the original environment' },
      { placeholder: '/path/to/nmia_backup.dump', value: offsiteDump, reason: 'the most recent custom-format backup, from off-host storage' },
    ];
  },

  async disaster(context) {
    await context.harnessDocker('disaster: complete environment loss — every container and volume of the project is gone', ['compose', 'down', '-v']);
    await context.harnessAction('disaster: complete environment loss — the install directory is gone', `rm -rf ${context.projectDir}`, () => rm(context.projectDir, { recursive: true, force: true }));
    context.setWorkingDirectory(paths(context).recoveryHome);
  },

  async verify(context) {
    const dump = context.artifact('custom-dump')!;
    await context.verifyRestoredDatabase('nmia', dump.window!, { privilegesDroppedByDesign: true });
  },
};
