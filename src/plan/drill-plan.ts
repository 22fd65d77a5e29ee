import { isAbsolute, relative } from 'node:path';
import type { Isolation, StackChoice } from '../drill/drill-options.ts';
import type { Procedure } from '../drill/procedure.ts';
import { selectFromRunbook } from '../drill/procedure-selection.ts';
import { findBlock, type Runbook } from '../runbook/runbook.ts';
import { PlanEnvironment } from './plan-environment.ts';
import { describeAppSource, type AppSource } from '../app/app-source.ts';
import { previewComposeFile } from '../app/app-compose-preview.ts';
import { type ComposeAddition, composeOverrideOf } from '../app/compose-override.ts';
import { IMAGE_SUBSTITUTES } from '../stacks/compose/image-substitutes.ts';
import { RUNTIME_TOKEN, type PlannedArtifact, type PlannedBinding } from './procedure-plan.ts';

export interface PlanRequest {
  runbookPath: string;
  allowDrift: boolean;
  isolation: Isolation;
  only: string[];
  skip: string[];
  stack: StackChoice;
  /** The NMIA under drill (default: the reference app). */
  app?: AppSource;
  /** The registry's procedures, handed in by the CLI. */
  procedures: readonly Procedure[];
  /** How file locations are shown (relative to this directory when inside it). */
  cwd?: string;
}

export interface PlannedSubstitution extends PlannedBinding {
  occurrences: number;
}

export interface PlannedBlock {
  index: number;
  line: number;
  /** `file:line` of the opening fence. */
  location: string;
  /** The block as bash would run it: declared bindings substituted (secrets as <redacted>, run-time parts as {…}). */
  text: string;
  substitutions: PlannedSubstitution[];
}

export interface PlannedRun {
  id: string;
  title: string;
  mode: 'order' | 'alone';
  /** Which environment: the shared runbook-order one, or a fresh one for this procedure. */
  environment: string;
  section: string;
  location: string;
  stack: string;
  /** Inputs the harness makes because no earlier section of this environment leaves them. */
  inputs: Array<{ artifact: string; file: string; purpose: string }>;
  disaster?: string;
  blocks: PlannedBlock[];
  checkedWithoutRunning: Array<{ index: number; line: number; location: string; reason: string; text: string }>;
  /** Bindings declared for no block of the section (run time filters them out too). */
  unusedBindings: string[];
  produces: PlannedArtifact[];
  /** When the procedure has live bindings but no plan description of them. */
  undescribed?: string[];
}

export interface DrillPlan {
  runbook: { path: string; sha256: string; lockPath: string };
  drift: Array<{ kind: string; section: string; index: number; line: number; message: string }>;
  allowDrift: boolean;
  /** False when the drill would stop at the drift check. */
  wouldRun: boolean;
  stack: { requested: StackChoice; kind: 'emulated' | 'compose' | 'decided at run time'; note: string };
  isolation: Isolation;
  /** The app under drill; for a repository, what the harness adds to its compose file and does before the blocks. */
  app: PlannedApp;
  runs: PlannedRun[];
}

export interface PlannedApp {
  kind: 'reference' | 'repository';
  source: string;
  /** Each addition the override (docker-compose.override.yml next to the app's file) makes, with its reason. */
  composeAdditions?: ComposeAddition[];
  /** Why the additions could not be listed (the compose file could not be read). */
  unavailable?: string;
  harnessActions?: string[];
}

/** What a drill of an app repository does besides the runbook's blocks, in the order it does it. */
export const APP_HARNESS_ACTIONS = [
  "clone the repository (at #ref) as the workspace project directory nmia/; the runbook's `git clone <repo-url>` binds to the same source",
  'write docker-compose.override.yml next to its docker-compose.yml (the additions below); Compose reads it whenever no -f is given',
  "images: a service with build: whose image the engine lacks is built with the app's own Dockerfiles (docker compose build <services>); nothing is built when every image is present",
  "the harness's own pg_dump/pg_restore/psql: the host's, or the db image's when the host's are of an older major than the server (docker exec)",
  "schema: the app's own Base.metadata.create_all, in its api image (docker compose run --rm --no-deps -T api python -c …)",
  'docker compose up -d, then wait for the api /health',
];

const STACK_NOTES: Record<StackChoice, { kind: DrillPlan['stack']['kind']; note: string }> = {
  emulated: { kind: 'emulated', note: 'the docker shim over a local PostgreSQL cluster and the reference app as local processes' },
  compose: {
    kind: 'compose',
    note: 'a real Docker Compose project "nmia" (the drill checks for a Docker engine and Compose v2 when it starts)',
  },
  auto: {
    kind: 'decided at run time',
    note: 'compose when a Docker engine answers, Compose v2 is present and the images are there, else emulated (plan does not ask Docker)',
  },
};

/**
 * The drill a run with these options would perform, without performing any of it: the runbook and its
 * lock are read, nothing is written, started or contacted.
 */
export async function planDrill(request: PlanRequest): Promise<DrillPlan> {
  const { runbook, selected, lockPath, drift } = await selectFromRunbook(request.runbookPath, request.procedures, request);
  const cwd = request.cwd ?? process.cwd();
  const where = (line: number) => `${shownPath(runbook.path, cwd)}:${line}`;
  const repository = request.app?.kind === 'repository' ? request.app : undefined;
  // The real app runs only on real Docker.
  const stack = repository
    ? {
        requested: request.stack,
        kind: 'compose' as const,
        note: 'a real Docker Compose project "nmia" on the app\'s own docker-compose.yml (--app)',
      }
    : { requested: request.stack, ...STACK_NOTES[request.stack] };
  const app = repository
    ? await planApp(repository)
    : { kind: 'reference' as const, source: 'nmia/reference-app (the built-in reference model of NMIA)' };
  const stackLabel = stack.kind === 'decided at run time' ? 'auto (decided when the drill starts)' : stack.kind;

  const runs: PlannedRun[] = [];
  if (request.isolation !== 'alone') {
    const environment = new PlanEnvironment(runbook, 'order');
    for (const procedure of selected)
      runs.push(
        planRun(procedure, environment, runbook, where, stackLabel, 'runbook order: one environment shared with the procedures before it'),
      );
  }
  if (request.isolation !== 'order') {
    for (const procedure of selected)
      runs.push(
        planRun(
          procedure,
          new PlanEnvironment(runbook, 'alone'),
          runbook,
          where,
          stackLabel,
          `alone: a fresh environment for ${procedure.id}`,
        ),
      );
  }
  return {
    runbook: { path: runbook.path, sha256: runbook.sha256, lockPath },
    drift: drift.map(({ kind, section, index, line, message }) => ({ kind, section, index, line, message })),
    allowDrift: request.allowDrift,
    wouldRun: drift.length === 0 || request.allowDrift,
    stack,
    isolation: request.isolation,
    app,
    runs,
  };
}

async function planApp(source: Extract<AppSource, { kind: 'repository' }>): Promise<PlannedApp> {
  const base = { kind: 'repository' as const, source: describeAppSource(source), harnessActions: APP_HARNESS_ACTIONS };
  const compose = await previewComposeFile(source);
  if ('unavailable' in compose) return { ...base, unavailable: compose.unavailable };
  // Plan does not ask Docker: an image stand-in is listed as it applies when the engine lacks the image.
  const override = composeOverrideOf(compose.text, { drillId: '{drill id}', imageExists: () => false, substitutes: IMAGE_SUBSTITUTES });
  return { ...base, composeAdditions: override.additions };
}

function planRun(
  procedure: Procedure,
  environment: PlanEnvironment,
  runbook: Runbook,
  where: (line: number) => string,
  stack: string,
  label: string,
): PlannedRun {
  const { context, inputs } = environment.contextFor(procedure);
  procedure.plan?.prepare?.(context);
  const bindings = procedure.plan?.bindings?.(context) ?? [];
  const blocks = procedure.blocks.map((index) => {
    const block = findBlock(runbook, procedure.section, index);
    if (!block) return { index, line: 0, location: '(missing from the runbook)', text: '', substitutions: [] };
    let text = block.text;
    const substitutions: PlannedSubstitution[] = [];
    // As ProcedureContext.runBlock: only the bindings whose placeholder occurs in this block.
    for (const binding of bindings.filter((candidate) => block.text.includes(candidate.placeholder))) {
      const occurrences = text.split(binding.placeholder).length - 1;
      text = text.split(binding.placeholder).join(binding.secret ? '<redacted>' : binding.value);
      substitutions.push({ ...binding, ...(binding.secret ? { value: '<redacted>' } : {}), occurrences });
    }
    return { index, line: block.line, location: where(block.line), text, substitutions };
  });
  const usedPlaceholders = new Set(blocks.flatMap((block) => block.substitutions.map((substitution) => substitution.placeholder)));
  const run: PlannedRun = {
    id: procedure.id,
    title: procedure.title,
    mode: environment.mode,
    environment: label,
    section: procedure.section,
    location: where(runbook.blocks.find((block) => block.sectionTitle === procedure.section)?.line ?? 0),
    stack,
    inputs: inputs.map(({ artifact, purpose }) => ({ artifact: artifact.name, file: artifact.file, purpose })),
    ...(procedure.plan?.disaster
      ? { disaster: procedure.plan.disaster }
      : procedure.disaster
        ? { disaster: '(a disaster is caused, but this procedure does not describe it for plan)' }
        : {}),
    blocks,
    checkedWithoutRunning: (procedure.checksWithoutRunning ?? []).map((check) => {
      const block = findBlock(runbook, procedure.section, check.index);
      return {
        index: check.index,
        line: block?.line ?? 0,
        location: block ? where(block.line) : '(missing from the runbook)',
        reason: check.reason,
        text: block?.text ?? '',
      };
    }),
    unusedBindings: bindings.filter((binding) => !usedPlaceholders.has(binding.placeholder)).map((binding) => binding.placeholder),
    produces: procedure.plan?.produces ?? [],
    ...(procedure.bindings && !procedure.plan?.bindings
      ? { undescribed: ['bindings: computed when the drill runs; this procedure has no plan description of them'] }
      : {}),
  };
  environment.after(procedure);
  return run;
}

/** True when a planned value has parts only known once the drill runs. */
export function isRuntimeValue(binding: PlannedBinding): boolean {
  return RUNTIME_TOKEN.test(binding.value);
}

function shownPath(path: string, cwd: string): string {
  const shown = relative(cwd, path);
  return shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}
