import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal, ProcedureRecord } from '../src/evidence/journal.ts';
import { syntheticJournal } from '../test-support/synthetic-journal.ts';
import { COMPOSE_RAW_DUMP, composeRawScript, rawScript, replayScript, STEP } from './replay-script.ts';
import { runTimedBashScript } from './timed-bash-script.ts';

function command(index: number, text: string) {
  return { index, text, exitCode: 0, startedAt: '2026-01-10T02:00:00.000Z', durationMs: 10, stderrTail: '', stdoutTail: '' };
}

function record(
  id: string,
  commands: string[],
  harnessActions: ProcedureRecord['harnessActions'] = [],
  outcome: ProcedureRecord['outcome'] = 'passed',
): ProcedureRecord {
  return {
    id,
    title: id,
    section: id,
    mode: 'order',
    outcome,
    blocks: [
      {
        section: id,
        blockIndex: 0,
        line: 1,
        sha256: 'a'.repeat(64),
        executedText: commands.join('\n'),
        bindings: [],
        commands: commands.map((text, index) => command(index, text)),
        exitCode: 0,
        startedAt: '2026-01-10T02:00:00.000Z',
        durationMs: 20,
        stdoutTail: '',
        stderrTail: '',
      },
    ],
    harnessActions,
    artifacts: [],
    rungs: [],
    findings: [],
  };
}

function journalWith(procedures: ProcedureRecord[]): Journal {
  return syntheticJournal({ procedures });
}

const BACKUP = [
  'docker compose exec db pg_dump -U nmia -d nmia -Fc --file=/tmp/nmia_backup.dump',
  'docker compose cp db:/tmp/nmia_backup.dump ./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).dump',
];
const RESTORE = [
  'docker compose stop api worker collector',
  `docker compose exec db psql -U nmia -c "SELECT 'it''s'"`,
  'docker compose start api worker collector',
];
const DISASTER = {
  purpose: 'disaster: drop it',
  command: "SQL on nmia: DROP TABLE connector_instances CASCADE; UPDATE users SET password_hash = '$2b$10$' || repeat('x', 53);",
  exitCode: 0,
  durationMs: 5,
};

describe('replayScript', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-bench-replay-test-'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'backups'));
    await writeFile(join(dir, 'backups', 'nmia_backup_20260101_000000.dump'), 'PGDMP');
    // Stand-ins that log how they were called: the replay must call exactly what the journal recorded.
    const logger = (name: string) => `#!/bin/bash\nprintf '%s\\n' "${name} $*" >> "${join(dir, 'calls.log')}"\n`;
    for (const name of ['docker', 'psql', 'pg_restore']) {
      await writeFile(join(dir, 'bin', name), logger(name));
      await chmod(join(dir, 'bin', name), 0o755);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the journal's commands verbatim, in order, between the manifests and checks the drill took", async () => {
    const journal = journalWith([record('full-backup', BACKUP), record('restore-custom', RESTORE, [DISASTER])]);
    const script = replayScript({ journal, manifestSqlFile: join(dir, 'manifest.sql'), outDir: dir, damageCheckTookManifest: true });
    const timing = await runTimedBashScript(script, {
      cwd: dir,
      env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, PSQL: join(dir, 'bin', 'psql'), PG_RESTORE: join(dir, 'bin', 'pg_restore') },
    });
    const calls = (await readFile(join(dir, 'calls.log'), 'utf8')).trim().split('\n');
    expect(calls.filter((call) => call.startsWith('docker '))).toEqual([
      'docker compose exec db pg_dump -U nmia -d nmia -Fc --file=/tmp/nmia_backup.dump',
      expect.stringMatching(/^docker compose cp db:\/tmp\/nmia_backup\.dump \.\/backups\/nmia_backup_\d{8}_\d{6}\.dump$/),
      'docker compose stop api worker collector',
      "docker compose exec db psql -U nmia -c SELECT 'it''s'",
      'docker compose start api worker collector',
    ]);
    expect(calls).toContain(`psql -X -q -v ON_ERROR_STOP=1 -d nmia -c ${DISASTER.command.replace('SQL on nmia: ', '')}`);
    expect(calls.filter((call) => call.includes(`-f ${join(dir, 'manifest.sql')}`))).toHaveLength(4);
    expect(calls.filter((call) => call.startsWith('pg_restore '))).toEqual([
      'pg_restore --list ./backups/nmia_backup_20260101_000000.dump',
      'pg_restore -f /dev/null ./backups/nmia_backup_20260101_000000.dump',
    ]);
    expect(timing.steps.map((step) => step.name)).toEqual([
      STEP.manifestBefore('full-backup'),
      ...BACKUP.map((text) => STEP.command('full-backup', text)),
      STEP.manifestAfter('full-backup'),
      STEP.artifactCheck('full-backup'),
      STEP.damageCheck,
      STEP.harness('restore-custom', DISASTER.purpose),
      ...RESTORE.map((text) => STEP.command('restore-custom', text)),
      STEP.restoredManifest('restore-custom'),
    ]);
  });

  it("sends no damage-check SQL when the drill reused the backup's manifest, and replays what a verify hook did after the restored manifest", async () => {
    await rm(join(dir, 'calls.log'), { force: true });
    const appWait = {
      purpose: 'check: wait (bounded) for the restarted application',
      command: 'GET http://127.0.0.1:1/health until 200, docker compose ps -a api worker collector',
      exitCode: 0,
      durationMs: 40,
    };
    const journal = journalWith([record('full-backup', BACKUP), record('restore-custom', RESTORE, [DISASTER, appWait])]);
    // A curl that answers 200 at once, so the wait loop ends.
    await writeFile(join(dir, 'bin', 'curl'), `#!/bin/bash\nprintf '%s\\n' "curl $*" >> "${join(dir, 'calls.log')}"\n`);
    await chmod(join(dir, 'bin', 'curl'), 0o755);
    const script = replayScript({
      journal,
      manifestSqlFile: join(dir, 'manifest.sql'),
      outDir: dir,
      damageCheckTookManifest: false,
      verifyActionsFrom: { 'restore-custom': 1 },
    });
    const timing = await runTimedBashScript(script, {
      cwd: dir,
      env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, PSQL: join(dir, 'bin', 'psql'), PG_RESTORE: join(dir, 'bin', 'pg_restore') },
    });
    const calls = (await readFile(join(dir, 'calls.log'), 'utf8')).trim().split('\n');
    expect(calls.filter((call) => call.includes(`-f ${join(dir, 'manifest.sql')}`))).toHaveLength(3);
    expect(calls.slice(-2)).toEqual([
      'curl -fs -o /dev/null --max-time 2 http://127.0.0.1:1/health',
      'docker compose ps -a api worker collector',
    ]);
    expect(timing.steps.map((step) => step.name)).toEqual([
      STEP.manifestBefore('full-backup'),
      ...BACKUP.map((text) => STEP.command('full-backup', text)),
      STEP.manifestAfter('full-backup'),
      STEP.artifactCheck('full-backup'),
      STEP.harness('restore-custom', DISASTER.purpose),
      ...RESTORE.map((text) => STEP.command('restore-custom', text)),
      STEP.restoredManifest('restore-custom'),
      STEP.harness('restore-custom', appWait.purpose),
    ]);
  });

  it('refuses to replay a drill that did not pass, or a command the journal redacted', () => {
    expect(() =>
      replayScript({
        journal: journalWith([record('full-backup', BACKUP, [], 'failed'), record('restore-custom', RESTORE)]),
        manifestSqlFile: 'm.sql',
        outDir: dir,
        damageCheckTookManifest: false,
      }),
    ).toThrow(/full-backup did not pass/);
    const redacted = journalWith([
      record('full-backup', BACKUP),
      record('restore-custom', ['docker compose exec db psql -c "[REDACTED:db_password]"']),
    ]);
    expect(() => replayScript({ journal: redacted, manifestSqlFile: 'm.sql', outDir: dir, damageCheckTookManifest: false })).toThrow(
      /cannot replay a redacted command/,
    );
    const unknown = journalWith([
      record('full-backup', BACKUP),
      record('restore-custom', RESTORE, [
        { purpose: 'RTO lever', command: 'pg_restore -j 1|2 -d <scratch> x.dump', exitCode: 0, durationMs: 1 },
      ]),
    ]);
    expect(() => replayScript({ journal: unknown, manifestSqlFile: 'm.sql', outDir: dir, damageCheckTookManifest: false })).toThrow(
      /cannot replay harness action "RTO lever"/,
    );
  });
});

describe('runTimedBashScript', () => {
  it('times each step and fails loudly when a baseline command fails', async () => {
    const ok = await runTimedBashScript(`step one\nsleep 0.05\nstep two\ntrue`, { cwd: tmpdir(), env: { PATH: '/usr/bin:/bin' } });
    expect(ok.steps.map((step) => step.name)).toEqual(['one', 'two']);
    expect(ok.steps[0]!.ms).toBeGreaterThanOrEqual(45);
    await expect(runTimedBashScript(`step one\necho boom >&2; exit 7`, { cwd: tmpdir(), env: { PATH: '/usr/bin:/bin' } })).rejects.toThrow(
      /failed \(exit 7\): boom/,
    );
  });

  it('raw baseline runs only the four raw commands', () => {
    const script = rawScript('/tmp/x');
    expect(script.match(/^"\$[A-Z_]+"/gm)).toEqual(['"$PG_DUMP"', '"$DROPDB"', '"$CREATEDB"', '"$PG_RESTORE"']);
  });
});

describe('composeRawScript', () => {
  it("runs the operator's four commands in the db container, in order, and stops at the first that fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nmia-bench-compose-raw-'));
    try {
      await mkdir(join(dir, 'bin'));
      // A docker that logs its arguments; dropdb fails when asked to.
      await writeFile(
        join(dir, 'bin', 'docker'),
        `#!/bin/sh\necho "$*" >> "${dir}/calls"\ncase "$*" in *dropdb*) [ -n "$FAIL_DROPDB" ] && exit 3 ;; esac\nexit 0\n`,
      );
      await chmod(join(dir, 'bin', 'docker'), 0o755);
      const env = { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` };
      const timing = await runTimedBashScript(composeRawScript(), { cwd: dir, env });
      expect(timing.steps.map((step) => step.name)).toEqual(['pg_dump -Fc', 'dropdb', 'createdb', 'pg_restore']);
      expect((await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n')).toEqual([
        `compose exec -T db pg_dump -U nmia -d nmia -Fc --file=${COMPOSE_RAW_DUMP}`,
        'compose exec -T db dropdb -U nmia nmia',
        'compose exec -T db createdb -U nmia nmia',
        `compose exec -T db pg_restore -U nmia -d nmia --no-owner --no-privileges ${COMPOSE_RAW_DUMP}`,
      ]);
      await rm(join(dir, 'calls'));
      await expect(runTimedBashScript(composeRawScript(), { cwd: dir, env: { ...env, FAIL_DROPDB: '1' } })).rejects.toThrow(/exit 3/);
      expect((await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n')).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
