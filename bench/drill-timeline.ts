import type { DrillReporter } from '../src/drill/drill-reporter.ts';
import type { ProcedureRecord } from '../src/evidence/journal.ts';

export interface TimelineEvent {
  at: number;
  /** This process's CPU time (user + system) so far, in ms. */
  cpuMs: number;
  kind: 'step' | 'procedure-start' | 'procedure-end' | 'drill-start';
  label: string;
}

/** A reporter that timestamps what the drill does (performance.now()), for the bench's breakdown. */
export class DrillTimeline implements DrillReporter {
  readonly events: TimelineEvent[] = [];

  /** `beforeProcedureStart`: called as the runner announces a procedure, before it runs any of it. */
  constructor(
    private readonly log: (line: string) => void,
    private readonly beforeProcedureStart?: (id: string) => void,
  ) {}

  private add(kind: TimelineEvent['kind'], label: string): void {
    const cpu = process.cpuUsage();
    this.events.push({ at: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, kind, label });
  }

  onDrillStart(): void {
    this.add('drill-start', 'drill');
  }

  onStep(message: string): void {
    this.add('step', message);
    this.log(`    ${message}`);
  }

  onProcedureStart(procedure: { id: string }): void {
    this.beforeProcedureStart?.(procedure.id);
    this.add('procedure-start', procedure.id);
    this.log(`    ▶ ${procedure.id}`);
  }

  onProcedureEnd(record: ProcedureRecord): void {
    this.add('procedure-end', record.id);
    this.log(`    ◀ ${record.id}: ${record.outcome} in ${((record.durationMs ?? 0) / 1000).toFixed(1)} s`);
  }

  /** The first event of `kind` whose label starts with `label`. */
  at(kind: TimelineEvent['kind'], label: string): number {
    return this.event(kind, label).at;
  }

  event(kind: TimelineEvent['kind'], label: string): TimelineEvent {
    const found = this.events.find((event) => event.kind === kind && event.label.startsWith(label));
    if (!found) throw new Error(`the drill never reported ${kind} ${label}`);
    return found;
  }
}
