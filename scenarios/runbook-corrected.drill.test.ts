import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Attachment, StepResult, TestResult } from 'allure-js-commons';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Journal } from '../src/evidence/journal.ts';
import { PROCEDURES } from '../runbook/registry.ts';
import { reportProcedureToAllure } from './support/allure-journal.ts';
import { tmpfsSupport } from '../runbook/kit/full-disk.ts';
import { ADVERSARIAL, CORRECTED_RUNBOOK, REPO, drill, failedChecks, procedure } from './support/drill-harness.ts';
import { parseAppSource } from '../src/app/app-source.ts';
import {
  baselineOutcomes,
  HEALTHY_BASELINE,
  outcomesOf,
  REAL_APP,
  realAppAvailability,
  type ScenarioDrill,
  verdicts,
} from './support/real-app-drills.ts';

/**
 * The corrected copy in fixtures/runbooks fixes every runbook finding; the drill must pass it completely,
 * alone and in runbook order. What is left are the real NMIA's application defects, which the reference app
 * has too (docs/reference-app.md): the UI's Vite proxy points at the ui container itself, and SECRET_KEY is
 * fixed in docker-compose.yml (so step 2's .env never reaches the api, and a lost key cannot be replaced).
 * Then the same corrected runbook on the real NMIA (its own repository and docker-compose.yml, on real Docker),
 * in runbook order, and its parity with the default drill: the same outcomes, findings by kind, checks and
 * exit codes.
 *
 * Each procedure of that drill (runbook order) is an Allure test (results in reports/allure-results).
 * With NMIA_ALLURE_REPLAY_JOURNAL set, the same tests report a journal from that file instead of running a
 * drill: the last test below runs this file that way, in a child vitest, over a journal with a seeded defect.
 */
const REPLAY_JOURNAL = process.env.NMIA_ALLURE_REPLAY_JOURNAL;
const realApp = REPLAY_JOURNAL ? { available: false, suffix: '' } : await realAppAvailability('real NMIA drills');
/** The default drill (reference app, no Docker), kept for the comparison with the real app. */
let defaultDrill: ScenarioDrill | undefined;
/** The real app's drill, or why it could not run (its own describe reports that). */
let realDrill: ScenarioDrill | Error | undefined;
const drillTheRealApp = () =>
  drill({ runbookPath: CORRECTED_RUNBOOK, app: parseAppSource(REAL_APP), stack: 'compose', isolation: 'order', adversarial: true }).catch(
    (error: unknown) => error as Error,
  );
const SEEDED = {
  procedure: 'full-backup',
  stderr: 'pg_dump: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed (seeded)',
  table: 'identities',
};

describe('the corrected runbook, one Allure test per procedure', () => {
  let journal: Journal;
  let cleanup: () => Promise<void> = async () => {};
  beforeAll(async () => {
    if (REPLAY_JOURNAL) {
      journal = JSON.parse(await readFile(REPLAY_JOURNAL, 'utf8')) as Journal;
      return;
    }
    // The real app's drill first, one after the other (two cores): its compose lock is then taken before
    // runbook-as-given's real drills want it (they follow that file's default drill), so neither file waits idle.
    if (realApp.available) realDrill = await drillTheRealApp();
    // As `npm run drill` runs it (both isolations, adversarial runs on), but for the reference worker's poll: every
    // second instead of the real 15 s (the journal's stack reason says so), as each recovery's connector scan waits
    // for it twice. The real interval runs in the app parity suites (test/parity, and scenarios/full-parity on CI).
    vi.stubEnv('NMIA_WORKER_POLL_MS', '1000');
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, isolation: 'both', adversarial: true }).finally(() => vi.unstubAllEnvs());
    journal = result.journal;
    cleanup = result.cleanup;
    defaultDrill = result;
    // 24 procedure runs, each alone one in a fresh environment: minutes, more on a busy machine.
  }, 2_100_000);
  afterAll(async () => {
    await cleanup();
  });

  for (const { id } of PROCEDURES) {
    it(id, async () => {
      const record = procedure(journal, id);
      await reportProcedureToAllure(journal, record, journal.runbook.path);
      expect(record.outcome, failedChecks(record).join('\n') || record.reason).toBe('passed');
    });
  }

  if (!REPLAY_JOURNAL) {
    it('passes every procedure, alone and in runbook order, with no runbook findings', () => {
      expect(journal.findings.filter((finding) => finding.kind !== 'application')).toEqual([]);
      expect([...new Set(journal.findings.map((finding) => finding.title))].sort()).toEqual([
        'UI loads at http://host:5173: the application fails this before the disaster too',
        'a lost SECRET_KEY cannot be replaced: docker-compose.yml sets it to a fixed value for api and worker',
        "step 2's .env never reaches the app: docker-compose.yml sets SECRET_KEY to a fixed value for api and worker, so the original key is not restored",
      ]);
      expect(journal.procedures).toHaveLength(2 * PROCEDURES.length);
      for (const record of journal.procedures) {
        expect(record.outcome, `${record.mode}/${record.id}: ${failedChecks(record).join('; ')}`).toBe('passed');
      }
      expect(journal.outcome).toBe('passed');
      expect(journal.runbook.lockState).toBe('clean');
    });

    it('passes its adversarial runs: the killed dump and the full disk leave no backup, the restores stop at the failing statement and the cut, and keep a writer they did not stop out of the half-restored database', () => {
      for (const mode of ['order', 'alone'] as const) expectAdversarialRunsPassed(journal, mode);
    });

    it('recovers healthily: every checklist item with its baseline, RTO and RPO; what the app fails anyway is an application finding with its fix', () => {
      const record = procedure(journal, 'dr-recovery');
      const application = record.rungs.filter((rung) => rung.rung === 'application' && rung.evidence?.probe !== undefined);
      expect(application).toHaveLength(8);
      // The real NMIA's UI cannot sign in under its compose file (its dev proxy points at itself), and the
      // faithful reference shows the same: before and after the disaster, so an application defect, not a failure.
      // Its compose file fixes SECRET_KEY as the real one does, so step 2's .env never reaches the api.
      expect(
        record.rungs.filter((rung) => rung.rung === 'application' && rung.outcome !== 'passed').map((rung) => [rung.check, rung.outcome]),
      ).toEqual([
        [expect.stringMatching(/SECRET_KEY that step 2 restored/), 'skipped'],
        [expect.stringMatching(/^UI loads/), 'skipped'],
      ]);
      expect(journal.timing).toMatchObject({
        rto: { measuredMs: expect.any(Number), targetMs: 900_000 },
        rpo: { measuredMs: expect.any(Number) },
      });
      const postRecovery = journal.checklist!.filter((item) => /Rotate the `?SECRET_KEY|Update DNS/.test(item.item));
      expect(postRecovery.length).toBeGreaterThanOrEqual(2);
      expect(new Set(postRecovery.map((item) => item.outcome))).toEqual(new Set(['not-run']));
      // Each item's result before the disaster is on its rung: the UI failed then too, the rest passed.
      expect(baselineOutcomes(application)).toEqual(HEALTHY_BASELINE);
      const ui = application.find((rung) => rung.evidence?.probe === 'ui-loads')!;
      expect(ui.summary).toMatch(/^not a recovery failure: the application fails this before the disaster too/);
      expect(journal.findings.filter((finding) => record.findings.includes(finding.id))).toEqual([
        expect.objectContaining({
          kind: 'application',
          title: expect.stringMatching(/^step 2's \.env never reaches the app: docker-compose\.yml sets SECRET_KEY/),
        }),
        expect.objectContaining({
          kind: 'application',
          title: expect.stringMatching(/^UI loads .*before the disaster too/),
          // The cause, read from the ui's own log, and the change that removes it.
          suggestedFix: expect.stringMatching(
            /point the \/api proxy at the api service: target: 'http:\/\/api:8000'.*forwards \/api\/\S+ to 127\.0\.0\.1:8000/,
          ),
        }),
      ]);
    });

    it('writes a result per procedure under .ci/run’s reporter flags, and marks a seeded failing command failed', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-allure-'));
      try {
        await writeFile(join(dir, 'journal.json'), JSON.stringify(seeded(journal)));
        const resultsDir = join(dir, 'allure-results');
        // The exact reporter flags .ci/run passes: they replace the configured reporters.
        const run = await execa(
          process.execPath,
          [
            join(REPO, 'node_modules/vitest/vitest.mjs'),
            'run',
            relative(REPO, fileURLToPath(import.meta.url)),
            '--project',
            'scenarios',
            '--reporter=default',
            '--reporter=./test-support/file-timing-reporter.ts',
            '--reporter=json',
            `--outputFile.json=${join(dir, 'vitest.json')}`,
          ],
          {
            cwd: REPO,
            env: childEnv({ NMIA_ALLURE_REPLAY_JOURNAL: join(dir, 'journal.json'), NMIA_ALLURE_RESULTS_DIR: resultsDir }),
            extendEnv: false,
            reject: false,
            all: true,
            timeout: 180_000,
          },
        );
        const output = String(run.all).slice(-3000);
        expect(run.exitCode, output).toBe(1);
        const counts = JSON.parse(await readFile(join(dir, 'vitest.json'), 'utf8')) as { numPassedTests: number; numFailedTests: number };
        expect(counts, output).toMatchObject({ numPassedTests: PROCEDURES.length - 1, numFailedTests: 1 });

        const results = await readResults(resultsDir);
        expect(results.map((result) => result.name).sort()).toEqual(PROCEDURES.map(({ id }) => id).sort());
        for (const result of results) {
          const record = procedure(journal, result.name!);
          expect(label(result, 'stack'), result.name).toEqual([journal.stack!.kind]);
          expect(label(result, 'suite'), result.name).toEqual(['order']);
          expect(result.links, result.name).toContainEqual(
            expect.objectContaining({
              name: record.section,
              url: expect.stringMatching(new RegExp(`^file://.*\\.md#L${record.line ?? record.blocks[0]?.line}$`)),
            }),
          );
          const commands = record.blocks.flatMap((block) => block.commands.map((command) => command.text));
          expect(
            allSteps(result).map((step) => step.name),
            result.name,
          ).toEqual(expect.arrayContaining([...commands, ...record.rungs.map((rung) => `${rung.rung}: ${rung.check}`)]));
          const blockSteps = result.steps.filter((step) => / › block \d+ \(line \d+\)$/.test(step.name ?? ''));
          expect(blockSteps, result.name).toHaveLength(record.blocks.length);
          expect(
            blockSteps.every((step) => attachmentsUnder(step).some((attachment) => attachment.name === 'command log')),
            result.name,
          ).toBe(true);
          // Every screenshot the checklist kept is in the results as a PNG.
          const screenshots = record.rungs.filter(
            (rung) => typeof rung.evidence?.screenshot === 'string' && existsSync(rung.evidence.screenshot as string),
          ).length;
          expect(
            attachmentsUnder(result).filter((attachment) => attachment.type === 'image/png'),
            result.name,
          ).toHaveLength(screenshots);
        }

        const clean = results.find((result) => result.name === 'sql-backup')!;
        expect(clean.status).toBe('passed');
        expect(label(clean, 'severity')).toEqual([]);
        expect(
          allSteps(clean).filter((step) => step.status !== undefined && step.status !== 'passed' && step.status !== 'skipped'),
        ).toEqual([]);

        const broken = results.find((result) => result.name === SEEDED.procedure)!;
        expect(broken.status).toBe('failed');
        expect(label(broken, 'severity')).toEqual(['blocker']);
        const failedCommand = allSteps(broken).find(
          (step) => step.name === procedure(journal, SEEDED.procedure).blocks[0]!.commands[0]!.text,
        )!;
        expect(failedCommand.status).toBe('failed');
        const stderr = attachmentsUnder(failedCommand).find((attachment) => attachment.name === 'stderr')!;
        expect(await readFile(join(resultsDir, stderr.source), 'utf8')).toBe(SEEDED.stderr);
        const contentRung = allSteps(broken).find((step) => step.status === 'failed' && step.name?.startsWith('content: '))!;
        const diff = attachmentsUnder(contentRung).find((attachment) => attachment.name === 'manifest differences')!;
        expect(diff.type).toBe('application/json');
        expect(JSON.parse(await readFile(join(resultsDir, diff.source), 'utf8'))).toMatchObject({
          differences: [expect.objectContaining({ table: SEEDED.table })],
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 240_000);
  }
});

describe.skipIf(!realApp.available)(`the corrected runbook on the real NMIA too${realApp.suffix}`, () => {
  let real: ScenarioDrill;
  beforeAll(async () => {
    const result = realDrill ?? (await drillTheRealApp());
    if (result instanceof Error) throw result;
    real = result;
  }, 1_200_000);
  afterAll(async () => {
    await real?.cleanup();
  });

  it('passes every procedure; what only the app can fix is an application finding', () => {
    // On a mismatch, what each item that did not pass said, before the disaster and after.
    const notPassed = real.journal.procedures.flatMap((record) =>
      record.rungs
        .filter((rung) => rung.rung === 'application' && rung.outcome !== 'passed')
        .map((rung) => `${record.id} ${rung.check}: ${rung.summary} (before: ${JSON.stringify(rung.evidence?.baseline)})`),
    );
    expect(
      real.journal.findings.map((finding) => [finding.kind, `${finding.procedure}: ${finding.title}`]),
      notPassed.join('\n'),
    ).toEqual([
      ['application', expect.stringMatching(/^dr-recovery: step 2's \.env never reaches the app: docker-compose\.yml sets SECRET_KEY/)],
      ['application', expect.stringMatching(/^dr-recovery: UI loads .*before the disaster too/)],
      ['application', expect.stringMatching(/^dr-recovery-key-lost: a lost SECRET_KEY cannot be replaced/)],
    ]);
    // The UI's defect comes with its fix, quoting the app's own file.
    expect(real.journal.findings.find((finding) => /UI loads/.test(finding.title))?.suggestedFix).toMatch(
      /^In ui\/vite\.config\.ts:\d+ \(`target: 'http:\/\/localhost:8000',`\), point the \/api proxy at the api service: target: 'http:\/\/api:8000'/,
    );
    expect(new Set(Object.values(outcomesOf(real)))).toEqual(new Set(['passed']));
    expect(Object.keys(outcomesOf(real))).toHaveLength(PROCEDURES.length);
  });

  it('passes its adversarial runs on the real app too', () => {
    expectAdversarialRunsPassed(real.journal, 'order');
  });

  it('the default drill (reference app, no Docker) reaches the same verdict as the real app on compose', () => {
    expect(defaultDrill, 'the default drill of the corrected runbook ran above').toBeDefined();
    expect(defaultDrill!.journal.stack?.kind).toBe('emulated');
    expect(verdicts(defaultDrill!, { mode: 'order' })).toEqual(verdicts(real, { mode: 'order' }));
    // The comparison is between real checks: every procedure's rungs, the checklist's included.
    expect(Object.values(verdicts(real, { mode: 'order' }).checks).flat().length).toBeGreaterThan(60);
  });

  it('probes every "Verify recovery" item of the real app, with a baseline, evidence, RTO and RPO through its api', () => {
    const recovery = real.journal.procedures.find((record) => record.id === 'dr-recovery')!;
    const items = recovery.rungs.filter((rung) => rung.rung === 'application' && rung.evidence?.probe !== undefined);
    expect(Object.fromEntries(items.map((rung) => [rung.evidence!.probe, rung.outcome]))).toEqual({
      'api-docs': 'passed',
      // The real UI's Vite proxy points at the ui container itself: sign-in fails before and after the disaster.
      'ui-loads': 'skipped',
      'admin-login': 'passed',
      'enclaves-connectors-visible': 'passed',
      'identity-counts-match': 'passed',
      'worker-running': 'passed',
      'connector-scan': 'passed',
      'jwt-continuity': 'passed',
    });
    // Each item's baseline before the disaster is on its rung, as on the reference app (scenarios/checklist.drill).
    expect(baselineOutcomes(items)).toEqual(HEALTHY_BASELINE);
    const summary = (probe: string) => items.find((rung) => rung.evidence!.probe === probe)!.summary;
    expect(summary('worker-running')).toMatch(/the poller (?:ran|is busy: .*tick) .* s ago/);
    expect(summary('connector-scan')).toMatch(/^scan job \S+ of connector .* completed with \d+ records/);
    expect(recovery.rungs.find((rung) => /SECRET_KEY that step 2 restored/.test(rung.check))).toMatchObject({ outcome: 'skipped' });
    for (const run of [real, defaultDrill!])
      expect(run.journal.timing).toMatchObject({
        rto: { measuredMs: expect.any(Number), targetMs: 900_000 },
        rpo: { measuredMs: expect.any(Number), detail: expect.stringMatching(/newest acknowledged #\d+/) },
      });
    expect(recovery.harnessActions?.find((action) => /^baseline:/.test(action.purpose))).toMatchObject({ exitCode: 0 });
    // The directory the connectors dial, declared and recorded.
    expect(real.journal.app!.composeAdditions?.map((addition) => addition.path)).toContain('services.directory');
  });
  // Each item's seeded defect on the real app: scenarios/real-app-checklist.drill.test.ts (one private stack, no compose lock).
});

/** Each adversarial run of the corrected runbook passed (scenarios/adversarial-runs.drill.test.ts shows each failing). */
function expectAdversarialRunsPassed(journal: Journal, mode: 'order' | 'alone'): void {
  const rung = (id: string, check: string) =>
    procedure(journal, id, mode).rungs.find((candidate) => `${candidate.rung}: ${candidate.check}` === check);
  expect(rung('full-backup', ADVERSARIAL.killedDump), mode).toMatchObject({
    outcome: 'passed',
    summary: expect.stringMatching(/^the block stopped with exit \d+ .*; no new backup file$/),
  });
  // docker compose cp leaves what fit, under the temporary name the corrected runbook removes.
  for (const id of ['full-backup', 'sql-backup', 'schema-backup'])
    expect(rung(id, ADVERSARIAL.fullDisk), `${mode}/${id}`).toMatchObject(
      tmpfsSupport().ok
        ? {
            outcome: 'passed',
            summary: expect.stringMatching(
              /^the block stopped with exit 1 \(.*write.*no space left on device\); no file named like a backup$/i,
            ),
          }
        : { outcome: 'skipped' },
    );
  for (const [id, check, summary] of [
    ['restore-sql', ADVERSARIAL.failingStatement, /psql .* exited 3: .*ERROR:/],
    ['restore-custom', ADVERSARIAL.truncatedDump, /pg_restore .* exited 1: .*(end of file|could not read)/],
  ] as const) {
    expect(rung(id, check), `${mode}/${id}`).toMatchObject({ outcome: 'passed', summary: expect.stringMatching(summary) });
    // The physical rung on the database the runbook restored, with its cost (corruption-check.test.ts shows it failing).
    expect(
      procedure(journal, id, mode).rungs.find((candidate) => candidate.check.startsWith('no corruption')),
      `${mode}/${id}`,
    ).toMatchObject({ outcome: 'passed', summary: expect.stringMatching(/pg_amcheck --heapallindexed .* \(\d+\.\d\d s\)$/) });
    // A client the section does not stop wrote all through the restore, and none of it reached a half-restored database.
    expect(rung(id, ADVERSARIAL.stillWriting), `${mode}/${id}`).toMatchObject({
      outcome: 'passed',
      summary: expect.stringMatching(
        /^every command exited 0; from the restore command on the writer made [1-9]\d* attempt\(s\) and \d+ write\(s\); none of its [1-9]\d* write\(s\) went into a half-restored database/,
      ),
      evidence: { intoPartialDatabase: 0, keptInRestoredDatabase: 0 },
    });
    // The custom restore loads a database of its own: all the while, the writer kept writing into the old, complete one.
    if (id === 'restore-custom')
      expect(rung(id, ADVERSARIAL.stillWriting)?.evidence?.writesSinceRestoreCommand, `${mode}/${id}`).toBeGreaterThan(0);
  }
}

/** The drill's journal with one defect planted in full-backup: its first command failed, content differs, a critical finding. */
function seeded(source: Journal): Journal {
  const journal = structuredClone(source);
  const record = procedure(journal, SEEDED.procedure);
  const block = record.blocks[0]!;
  const command = block.commands[0]!;
  Object.assign(command, { exitCode: 1, stderrTail: SEEDED.stderr });
  Object.assign(block, { exitCode: 1, failedCommand: command, stderrTail: SEEDED.stderr });
  record.outcome = 'failed';
  record.rungs.push({
    rung: 'content',
    check: 'row counts, content hashes and sequences match the backup',
    outcome: 'failed',
    summary: `${SEEDED.table}: 199 rows, expected 200 (seeded)`,
    evidence: { differences: [{ kind: 'row-count', table: SEEDED.table, expected: 200, actual: 199 }] },
  });
  journal.findings.push({
    id: 'F99',
    kind: 'runbook',
    procedure: SEEDED.procedure,
    section: record.section,
    severity: 'critical',
    title: 'seeded: the dump is incomplete',
    evidence: {},
    whyItMatters: 'seeded',
    suggestedFix: 'seeded',
  });
  record.findings.push('F99');
  return journal;
}

/** The child vitest must not think it runs inside a vitest worker. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('VITEST')),
  );
  return { ...env, ...extra };
}

async function readResults(dir: string): Promise<TestResult[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('-result.json'));
  return Promise.all(files.map(async (file) => JSON.parse(await readFile(join(dir, file), 'utf8')) as TestResult));
}

function label(result: TestResult, name: string): string[] {
  return result.labels.filter((candidate) => candidate.name === name).map((candidate) => candidate.value);
}

/** Steps at any depth. allure-vitest wraps each attachment in a step of its own (no status, no steps). */
function allSteps(parent: { steps?: StepResult[] }): StepResult[] {
  return (parent.steps ?? []).flatMap((step) => [step, ...allSteps(step)]);
}

function attachmentsUnder(parent: { steps?: StepResult[]; attachments?: Attachment[] }): Attachment[] {
  return [...(parent.attachments ?? []), ...allSteps(parent).flatMap((step) => step.attachments ?? [])];
}
