import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/** Named volumes a block mounts with `-v NAME:/path` or removes/creates with `docker volume rm|create NAME`. */
export function volumesNamedIn(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/-v\s+([A-Za-z0-9][A-Za-z0-9_.-]*):\//g)) names.add(match[1]!);
  for (const match of text.matchAll(/docker volume (?:rm|create|remove)\s+([A-Za-z0-9][A-Za-z0-9_.-]*)/g)) names.add(match[1]!);
  return [...names];
}

/** The db service's data volume as Compose names it (`<project>_pgdata`). */
export function dbVolumeName(context: ProcedureContext): string {
  const project = context.stack.project();
  const mount = project.service('db')?.volumes.find((volume) => volume.kind === 'volume');
  return project.volumeName(mount?.source ?? 'pgdata');
}

/** A finding when the section works on a volume other than the db service's. */
export function reportVolumeMismatch(context: ProcedureContext, blockIndex: number): boolean {
  const expected = dbVolumeName(context);
  const wrong = volumesNamedIn(context.block(blockIndex).text).filter((name) => name !== expected);
  if (wrong.length === 0) return false;
  context.finding({
    line: context.block(blockIndex).line,
    severity: 'critical',
    title: `the section uses volume ${wrong.join(', ')}, but the db service's data lives in ${expected}`,
    evidence: { volumesInBlock: wrong, dbServiceVolume: expected, project: context.stack.project().name },
    whyItMatters:
      'Docker creates an unknown named volume empty on first use, so every command exits 0 while the real data volume is never touched.',
    suggestedFix: `Use ${expected} (Compose names volumes <project>_<volume>; check with: docker volume ls).`,
  });
  return true;
}
