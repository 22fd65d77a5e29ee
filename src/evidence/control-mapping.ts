import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { type Journal, type Outcome, RungNameSchema } from './journal.ts';
import { timingMeasures, verdictOf } from './timing-measures.ts';

/** The project's control mapping: a data file reviewed like code (controls/control-map.yaml). */
export const CONTROL_MAP_PATH = fileURLToPath(new URL('../../controls/control-map.yaml', import.meta.url));

const RequirementSchema = z
  .object({
    id: z.string(),
    description: z.string(),
    procedures: z.array(z.string()).min(1).optional(),
    mode: z.enum(['order', 'alone']).optional(),
    rung: RungNameSchema.optional(),
    timing: z.enum(['rto', 'rpo']).optional(),
    checklist: z.literal(true).optional(),
    journal: z.literal(true).optional(),
  })
  .strict()
  .refine(
    (requirement) =>
      [requirement.procedures, requirement.rung, requirement.timing, requirement.checklist, requirement.journal].filter(
        (kind) => kind !== undefined,
      ).length === 1,
    { message: 'a requirement names exactly one kind of evidence: procedures, rung, timing, checklist or journal' },
  );

export const ControlMapSchema = z
  .object({
    version: z.literal(1),
    controls: z.array(z.object({ id: z.string(), framework: z.string(), requirements: z.array(RequirementSchema).min(1) }).strict()).min(1),
  })
  .strict();
export type ControlMap = z.infer<typeof ControlMapSchema>;
type Requirement = z.infer<typeof RequirementSchema>;

export function parseControlMap(text: string): ControlMap {
  return ControlMapSchema.parse(parse(text));
}

let cached: ControlMap | undefined;
export function controlMap(): ControlMap {
  cached ??= parseControlMap(readFileSync(CONTROL_MAP_PATH, 'utf8'));
  return cached;
}

/** `produced`: this drill has the evidence; `failed`: it ran and did not pass; `missing`: nothing ran that could give it. */
export type EvidenceState = 'produced' | 'failed' | 'missing';

export interface RequirementResult {
  id: string;
  description: string;
  state: EvidenceState;
  /** Where the evidence is (or what failed, or why it is missing). */
  detail: string;
}

export interface ControlResult {
  id: string;
  framework: string;
  /** `evidence`: every requirement produced; `partial`: some; `failed`: one ran and failed; `missing`: none. */
  status: 'evidence' | 'partial' | 'failed' | 'missing';
  requirements: RequirementResult[];
}

const NOT_PASSED: Outcome[] = ['failed', 'error'];

function assess(requirement: Requirement, journal: Journal): Omit<RequirementResult, 'id' | 'description'> {
  if (requirement.journal) {
    const ran = journal.procedures.filter((procedure) => procedure.outcome !== 'not-run' && procedure.outcome !== 'skipped');
    return ran.length > 0
      ? { state: 'produced', detail: `journal.json of drill ${journal.drillId}: ${ran.length} procedure run(s) recorded` }
      : { state: 'missing', detail: 'no procedure ran' };
  }
  if (requirement.procedures) {
    const runs = journal.procedures.filter(
      (procedure) => requirement.procedures!.includes(procedure.id) && (!requirement.mode || procedure.mode === requirement.mode),
    );
    const passed = runs.filter((procedure) => procedure.outcome === 'passed');
    if (passed.length > 0)
      return { state: 'produced', detail: passed.map((procedure) => `${procedure.mode}/${procedure.id} passed`).join(', ') };
    const failed = runs.filter((procedure) => NOT_PASSED.includes(procedure.outcome));
    if (failed.length > 0)
      return { state: 'failed', detail: failed.map((procedure) => `${procedure.mode}/${procedure.id} ${procedure.outcome}`).join(', ') };
    const scope = `${requirement.procedures.join(', ')}${requirement.mode ? ` (${requirement.mode})` : ''}`;
    return {
      state: 'missing',
      detail:
        runs.length > 0
          ? `${scope}: ${runs.map((procedure) => `${procedure.mode}/${procedure.id} ${procedure.outcome}`).join(', ')}`
          : `${scope}: not run`,
    };
  }
  if (requirement.rung) {
    const rungs = journal.procedures.flatMap((procedure) =>
      procedure.rungs.filter((rung) => rung.rung === requirement.rung).map((rung) => ({ procedure, rung })),
    );
    const passed = rungs.filter(({ rung }) => rung.outcome === 'passed');
    const failed = rungs.filter(({ rung }) => NOT_PASSED.includes(rung.outcome));
    // A failed check outweighs a passed one of the same rung elsewhere: the evidence is contradicted.
    if (failed.length > 0)
      return {
        state: 'failed',
        detail: `${failed.length} ${requirement.rung} check(s) ${failed
          .map(({ procedure, rung }) => `${procedure.mode}/${procedure.id} ${rung.outcome}`)
          .slice(0, 3)
          .join(', ')}`,
      };
    if (passed.length > 0) return { state: 'produced', detail: `${passed.length} ${requirement.rung} check(s) passed` };
    return { state: 'missing', detail: `no ${requirement.rung} check ran` };
  }
  if (requirement.timing) {
    const measure = timingMeasures(journal)[requirement.timing];
    const verdict = verdictOf(measure);
    const name = requirement.timing.toUpperCase();
    if (verdict === 'met') return { state: 'produced', detail: `${name} measured within target` };
    if (verdict === 'missed') return { state: 'failed', detail: `${name} measured over target` };
    if (verdict === 'no-target') return { state: 'missing', detail: `${name} measured, but no target recorded` };
    return { state: 'missing', detail: `${name} not measured${measure?.detail ? `: ${measure.detail}` : ''}` };
  }
  const items = journal.checklist ?? [];
  if (items.length === 0) return { state: 'missing', detail: 'no checklist item was checked' };
  const bad = items.filter((item) => NOT_PASSED.includes(item.outcome));
  if (bad.length > 0) return { state: 'failed', detail: `${bad.length} of ${items.length} checklist item(s) failed or errored` };
  const open = items.filter((item) => item.outcome !== 'passed');
  if (open.length > 0)
    return { state: 'missing', detail: `${open.length} of ${items.length} checklist item(s) neither probed nor attested` };
  return { state: 'produced', detail: `all ${items.length} checklist items passed` };
}

/** Per control: what evidence this drill produced and what is missing. */
export function assessControls(journal: Journal, map: ControlMap = controlMap()): ControlResult[] {
  return map.controls.map((control) => {
    const requirements = control.requirements.map((requirement) => ({
      id: requirement.id,
      description: requirement.description,
      ...assess(requirement, journal),
    }));
    const states = requirements.map((requirement) => requirement.state);
    const status = states.includes('failed')
      ? 'failed'
      : states.every((state) => state === 'produced')
        ? 'evidence'
        : states.some((state) => state === 'produced')
          ? 'partial'
          : 'missing';
    return { id: control.id, framework: control.framework, status, requirements };
  });
}
