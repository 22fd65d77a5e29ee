import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CronExpressionParser } from 'cron-parser';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeEvidence } from '../evidence/evidence-writer.ts';
import { Redactor } from '../evidence/redactor.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';

/*
 * The example CI workflow (.github/workflows/dr-drill.yml) is a consumer of this CLI: it breaks when a
 * command or flag it uses changes. So it is checked here, next to the CLI, in the unit project
 * (.github/ is outside every vitest project): its shape, and every nmia-drill invocation in it
 * against the real CLI's --help.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WORKFLOW = join(REPO, '.github/workflows/dr-drill.yml');

type Step = {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: unknown;
};
type Job = { 'runs-on'?: unknown; env?: Record<string, unknown>; steps?: Step[] };
type Workflow = {
  on?: {
    schedule?: Array<{ cron?: string }>;
    workflow_dispatch?: { inputs?: Record<string, { type?: string; default?: unknown; options?: unknown[] }> };
  };
  jobs?: Record<string, Job>;
};

/** The CLI as it is: its commands, and each command's flags (with their choices) from --help. */
interface CliHelp {
  commands: Set<string>;
  flags: Map<string, Map<string, string[] | undefined>>;
}

const cli = (args: string[]) => execa('node', [join(REPO, 'bin/nmia-drill.js'), ...args], { cwd: REPO, reject: false, stdin: 'ignore' });

/** Options of one command's --help: an entry starts at "  -", its wrapped description is indented further. */
function optionsOf(help: string): Map<string, string[] | undefined> {
  const options = new Map<string, string[] | undefined>();
  const section = help.slice(help.indexOf('Options:'));
  const entries = section
    .split(/\n(?= {2}-)/)
    .slice(1)
    .map((entry) =>
      entry
        .split('\n')
        .map((line) => line.trim())
        .join(' '),
    );
  for (const entry of entries) {
    const [flags = ''] = entry.split(/\s{2,}/);
    const choices = /\(choices: ((?:"[^"]*"(?:, )?)+)/.exec(entry)?.[1];
    for (const flag of flags.match(/--[a-z][a-z-]*/g) ?? [])
      options.set(flag, choices ? [...choices.matchAll(/"([^"]*)"/g)].map((choice) => choice[1]!) : undefined);
  }
  return options;
}

async function readCliHelp(): Promise<CliHelp> {
  const root = (await cli(['--help'])).stdout;
  const commandsSection = root.slice(root.indexOf('Commands:'));
  const commands = new Set(
    [...commandsSection.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((match) => match[1]!).filter((name) => name !== 'help'),
  );
  const flags = new Map<string, Map<string, string[] | undefined>>();
  await Promise.all([...commands].map(async (command) => flags.set(command, optionsOf((await cli([command, '--help'])).stdout))));
  return { commands, flags };
}

/** A scheduled run: `${{ inputs.x || 'default' }}` is its default; other expressions stay opaque. */
function forScheduledRun(value: unknown): string {
  return String(value).replace(/\$\{\{\s*inputs\.\w+\s*\|\|\s*'?([^'}\s]+)'?\s*\}\}/g, '$1');
}

/** Words of one shell command line: quotes removed, $VARS from the env replaced; operators kept as words. */
function shellWords(line: string, env: Record<string, string>): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\|\||&&|[|;<>]|>>)|([^\s"'|;<>&]+)/g)) {
    const word = match[1] ?? match[2] ?? match[3] ?? match[4] ?? '';
    words.push(match[2] !== undefined ? word : word.replace(/\$\{?(\w+)\}?/g, (all, name: string) => env[name] ?? all));
  }
  return words;
}

interface Invocation {
  step: Step;
  command: string;
  args: string[];
  /** What follows the command on its line: `|| true` would hide its exit code. */
  rest: string[];
}

/** Every nmia-drill call in the job: `npm run [--silent] drill -- …`, `npx nmia-drill …`, `node bin/nmia-drill.js …`. */
function invocations(job: Job): Invocation[] {
  const found: Invocation[] = [];
  for (const step of job.steps ?? []) {
    if (!step.run) continue;
    const env = Object.fromEntries(Object.entries({ ...job.env, ...step.env }).map(([key, value]) => [key, forScheduledRun(value)]));
    for (const line of step.run.replace(/\\\n\s*/g, ' ').split('\n')) {
      const words = shellWords(line, env);
      let at = -1;
      for (let index = 0; index < words.length; index += 1) {
        const rest = words.slice(index);
        if (rest[0] === 'npm' && rest[1] === 'run') {
          const script = rest.slice(2).findIndex((word) => !word.startsWith('-'));
          if (rest[2 + script] === 'drill' && rest[3 + script] === '--') at = index + 4 + script;
        } else if (rest[0] === 'npx' && rest[1] === 'nmia-drill') at = index + 2;
        else if (rest[0] === 'node' && rest[1] === 'bin/nmia-drill.js') at = index + 2;
        if (at >= 0) break;
      }
      if (at < 0) continue;
      const end = words.findIndex((word, index) => index >= at && /^(\|\||&&|[|;<>]|>>)$/.test(word));
      const args = words.slice(at, end < 0 ? undefined : end);
      // The first word, unless it is an option, names the command; without one it is `run` (the default).
      const command = args[0] && !args[0].startsWith('-') ? args.shift()! : 'run';
      found.push({ step, command, args, rest: end < 0 ? [] : words.slice(end) });
    }
  }
  return found;
}

function flagValue(args: string[], flag: string): string | undefined {
  const at = args.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (at < 0) return undefined;
  return args[at]!.includes('=') ? args[at]!.slice(flag.length + 1) : args[at + 1];
}

const hidesExitCode = (invocation: Invocation) => invocation.rest.includes('||') || invocation.step['continue-on-error'] === true;

/** Everything wrong with the workflow, one line each; empty when it is a working nightly drill. */
function workflowProblems(workflow: Workflow, help: CliHelp, packageScripts: Record<string, string>): string[] {
  const problems: string[] = [];
  const schedule = workflow.on?.schedule ?? [];
  if (schedule.length === 0) problems.push('on.schedule: no cron entry');
  for (const { cron } of schedule) {
    if (typeof cron !== 'string' || cron.trim().split(/\s+/).length !== 5)
      problems.push(`on.schedule cron ${JSON.stringify(cron)}: GitHub wants five fields`);
    else {
      try {
        CronExpressionParser.parse(cron);
      } catch (error) {
        problems.push(`on.schedule cron "${cron}": ${(error as Error).message}`);
      }
    }
  }
  const inputs = workflow.on?.workflow_dispatch?.inputs;
  if (!workflow.on || !('workflow_dispatch' in workflow.on)) problems.push('on.workflow_dispatch: missing (no manual runs)');
  if (!inputs?.scale) problems.push('workflow_dispatch.inputs.scale: missing');
  else if (!Number.isInteger(Number(inputs.scale.default)) || Number(inputs.scale.default) < 10)
    problems.push('workflow_dispatch.inputs.scale: default must be an integer ≥ 10 (the CLI refuses less)');
  if (!inputs?.stack) problems.push('workflow_dispatch.inputs.stack: missing');
  else if (inputs.stack.default !== 'compose') problems.push('workflow_dispatch.inputs.stack: default is not compose');

  const job = Object.values(workflow.jobs ?? {}).find((candidate) => candidate['runs-on'] === 'ubuntu-latest');
  if (!job) return [...problems, 'jobs: none runs on ubuntu-latest'];
  const steps = job.steps ?? [];
  const calls = invocations(job);

  if (!packageScripts.drill?.includes('bin/nmia-drill.js')) problems.push('package.json: no "drill" script running bin/nmia-drill.js');
  for (const call of calls) {
    const known = help.flags.get(call.command);
    if (!known) {
      problems.push(`"${call.command}": not an nmia-drill command`);
      continue;
    }
    for (const arg of call.args.filter((word) => word.startsWith('--'))) {
      const flag = arg.split('=')[0]!;
      if (!known.has(flag)) problems.push(`nmia-drill ${call.command} has no option ${flag}`);
      const choices = known.get(flag);
      const value = flagValue(call.args, flag);
      if (choices && value !== undefined && !choices.includes(value))
        problems.push(`nmia-drill ${call.command} ${flag} ${value}: not one of ${choices.join(', ')}`);
    }
  }

  const drill = calls.find((call) => call.command === 'run');
  if (!drill) problems.push('no step runs the drill');
  else {
    if (flagValue(drill.args, '--stack') !== 'compose')
      problems.push(`the scheduled drill runs with --stack ${flagValue(drill.args, '--stack') ?? '(default: auto)'}, not compose`);
    if (hidesExitCode(drill)) problems.push('the drill step hides its exit code: a failed procedure would not fail the job');
    if (drill.step.if !== undefined) problems.push('the drill step has a condition: it must always run');
    const reportDir = flagValue(drill.args, '--report-dir');
    if (reportDir !== undefined && reportDir.replace(/\/$/, '') !== 'reports')
      problems.push(`the drill writes to ${reportDir}, but the artifact and summary read reports/`);
  }

  const upload = steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'));
  if (!upload) problems.push('no actions/upload-artifact step');
  else {
    if (upload.uses !== 'actions/upload-artifact@v4') problems.push(`${upload.uses}: expected actions/upload-artifact@v4`);
    if (!String(upload.if ?? '').includes('always()'))
      problems.push('the evidence upload lacks if: always(): a failed drill would keep no evidence');
    if (
      !String(upload.with?.path ?? '')
        .split('\n')
        .some((path) => path.trim().replace(/\/$/, '') === 'reports')
    )
      problems.push('the evidence upload does not include reports/');
  }

  const summary = steps.find((step) => /"?\$GITHUB_STEP_SUMMARY"?/.test(step.run ?? ''));
  if (!summary) problems.push('no step writes $GITHUB_STEP_SUMMARY');
  else {
    if (!/>>\s*"?\$GITHUB_STEP_SUMMARY/.test(summary.run ?? '')) problems.push('the summary step does not append to $GITHUB_STEP_SUMMARY');
    if (!(summary.run ?? '').includes('reports/*/summary.md'))
      problems.push("the summary step does not use the drill's reports/*/summary.md");
    if (!String(summary.if ?? '').includes('always()'))
      problems.push('the summary step lacks if: always(): a failed drill would have no summary');
  }

  // The summary may show the status with `|| true`; one call must be the gate.
  const statusCalls = calls.filter((call) => call.command === 'status' && flagValue(call.args, '--max-age') !== undefined);
  const gate = statusCalls.find((call) => !hidesExitCode(call));
  if (statusCalls.length === 0) problems.push('no nmia-drill status --max-age step: stale evidence would not fail the job');
  else if (!gate) problems.push('the status --max-age step hides its exit code');
  else {
    if (flagValue(gate.args, '--max-age') !== '1')
      problems.push(`status --max-age ${flagValue(gate.args, '--max-age')}: a nightly drill wants 1 day`);
    if (gate.step.if !== undefined && !/!cancelled\(\)|always\(\)/.test(gate.step.if))
      problems.push('the status --max-age step does not run after a failed drill');
  }
  return problems;
}

describe('.github/workflows/dr-drill.yml', () => {
  let help: CliHelp;
  const text = readFileSync(WORKFLOW, 'utf8');
  const workflow = (): Workflow => parse(text) as Workflow;
  const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  beforeAll(async () => {
    help = await readCliHelp();
  }, 120_000);

  it("reads the real CLI's commands and flags (so the checks below mean something)", () => {
    expect([...help.commands]).toEqual(expect.arrayContaining(['run', 'status', 'list', 'verify-evidence']));
    expect(help.flags.get('run')!.get('--stack')).toEqual(['auto', 'emulated', 'compose']);
    expect(help.flags.get('run')!.has('--json')).toBe(true);
    expect(help.flags.get('status')!.has('--max-age')).toBe(true);
  });

  it('is a nightly and manual drill on the compose stack that keeps its evidence, summarises, and fails on failure or stale evidence', () => {
    expect(workflowProblems(workflow(), help, scripts)).toEqual([]);
    const calls = invocations(Object.values(workflow().jobs!)[0]!);
    expect(calls.map((call) => [call.command, ...call.args].join(' '))).toEqual([
      'run --stack compose --scale 2000 --json',
      'status --max-age 1',
      'status --max-age 1',
    ]);
  });

  it('catches each way the workflow could break (seeded defects)', () => {
    const mutated = (change: (copy: Workflow & { jobs: Record<string, Job & { steps: Step[] }> }) => void) => {
      const copy = parse(text) as Workflow & { jobs: Record<string, Job & { steps: Step[] }> };
      change(copy);
      return workflowProblems(copy, help, scripts);
    };
    const job = (copy: { jobs: Record<string, Job & { steps: Step[] }> }) => Object.values(copy.jobs)[0]!;
    const step = (copy: { jobs: Record<string, Job & { steps: Step[] }> }, pattern: RegExp) =>
      job(copy).steps.find((candidate) => pattern.test(candidate.run ?? candidate.uses ?? ''))!;
    const gate = (copy: { jobs: Record<string, Job & { steps: Step[] }> }) =>
      job(copy).steps.find((candidate) => candidate.name === 'Evidence is fresh')!;
    expect(mutated((copy) => (copy.on!.schedule![0]!.cron = '61 3 * * *'))).toEqual([
      expect.stringMatching(/cron "61 3 \* \* \*": Constraint error/),
    ]);
    expect(mutated((copy) => (copy.on!.schedule![0]!.cron = '0 17 3 * * *'))).toEqual([expect.stringMatching(/five fields/)]);
    expect(mutated((copy) => delete copy.on!.workflow_dispatch)).toEqual(
      expect.arrayContaining([expect.stringMatching(/workflow_dispatch: missing/)]),
    );
    expect(mutated((copy) => delete step(copy, /upload-artifact/).if)).toEqual([expect.stringMatching(/lacks if: always\(\)/)]);
    expect(mutated((copy) => (step(copy, /upload-artifact/).uses = 'actions/upload-artifact@v3'))).toEqual([
      expect.stringMatching(/expected actions\/upload-artifact@v4/),
    ]);
    expect(mutated((copy) => (step(copy, / run --stack/).run = step(copy, / run --stack/).run!.replace('--stack', '--stak')))).toEqual(
      expect.arrayContaining(['nmia-drill run has no option --stak']),
    );
    expect(mutated((copy) => (job(copy).env!.DRILL_STACK = "${{ inputs.stack || 'composer' }}"))).toEqual([
      'nmia-drill run --stack composer: not one of auto, emulated, compose',
      'the scheduled drill runs with --stack composer, not compose',
    ]);
    expect(mutated((copy) => (step(copy, / run --stack/).run += ' || true'))).toEqual([
      expect.stringMatching(/drill step hides its exit code/),
    ]);
    expect(mutated((copy) => (step(copy, / run --stack/)['continue-on-error'] = true))).toEqual([
      expect.stringMatching(/drill step hides its exit code/),
    ]);
    expect(mutated((copy) => (gate(copy).run = gate(copy).run!.replace(' --max-age 1', '')))).toEqual([
      'the status --max-age step hides its exit code',
    ]);
    expect(mutated((copy) => (gate(copy).run += ' || true'))).toEqual(['the status --max-age step hides its exit code']);
    expect(mutated((copy) => (gate(copy).if = "steps.drill.outcome == 'success'"))).toEqual([
      'the status --max-age step does not run after a failed drill',
    ]);
    expect(mutated((copy) => (gate(copy).run = gate(copy).run!.replace('--max-age 1', '--max-age 7')))).toEqual([
      'status --max-age 7: a nightly drill wants 1 day',
    ]);
    expect(mutated((copy) => (step(copy, /GITHUB_STEP_SUMMARY"$/m).run = 'echo done'))).toEqual(['no step writes $GITHUB_STEP_SUMMARY']);
    expect(mutated((copy) => (gate(copy).run = 'npm run --silent drill -- stats --max-age 1'))).toEqual([
      '"stats": not an nmia-drill command',
      'the status --max-age step hides its exit code',
    ]);
  });

  it('summarises from the file the drill really writes: reports/*/summary.md matches the evidence writer', async () => {
    const root = await mkdtemp(join(tmpdir(), 'workflow-summary-'));
    const saved = process.env.GITHUB_STEP_SUMMARY;
    delete process.env.GITHUB_STEP_SUMMARY;
    try {
      const reportDir = join(root, 'reports', '20260110-020000-synth001');
      await mkdir(reportDir, { recursive: true });
      const files = await writeEvidence(syntheticJournal(), reportDir, new Redactor());
      const [dir] = await readdir(join(root, 'reports'), { withFileTypes: true }).then((entries) =>
        entries.filter((entry) => entry.isDirectory()),
      );
      expect(files.summary).toBe(join(root, 'reports', dir!.name, 'summary.md'));
      expect(files.index).toBe(join(root, 'reports', 'index.json'));
    } finally {
      if (saved !== undefined) process.env.GITHUB_STEP_SUMMARY = saved;
      await rm(root, { recursive: true, force: true });
    }
  });
});
