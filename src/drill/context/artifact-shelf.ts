import { relative } from 'node:path';
import type { ProcedureRecorder } from '../../evidence/procedure-recorder.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { checkArtifact, type ArtifactEvidence } from '../../verify/artifact-check.ts';
import type { EnvironmentState, ProducedArtifact } from '../drill-state.ts';

/** The files procedures make and hand on: rung 1 for each, and the shelf later procedures of the environment read from. */
export class ArtifactShelf {
  constructor(
    private readonly procedureId: string,
    private readonly environment: EnvironmentState,
    private readonly recorder: ProcedureRecorder,
    private readonly binaries: PgBinaries,
    private readonly projectDir: string,
  ) {}

  /** Rung 1 for a file: exists, size, sha256, readable in its format. */
  async check(name: string, path: string, expectedFormat?: ArtifactEvidence['format']): Promise<ArtifactEvidence> {
    const evidence = await checkArtifact(path, {
      pgRestorePath: this.binaries.path('pg_restore'),
      ...(expectedFormat ? { expectedFormat } : {}),
    });
    const shown = relative(this.projectDir, path).startsWith('..') ? path : this.relativeToProject(path);
    this.recorder.artifact({
      name,
      path: shown,
      bytes: evidence.bytes,
      sha256: evidence.sha256,
      format: evidence.format,
      readable: evidence.readable,
      detail: evidence.detail,
      producedBy: this.procedureId,
    });
    const check = `${name} is a readable ${expectedFormat ?? evidence.format} file`;
    const summary = `${shown}: ${evidence.bytes} bytes, ${evidence.format}, ${evidence.detail}`;
    if (evidence.readable) this.recorder.pass('artifact', check, summary, { sha256: evidence.sha256 });
    else this.recorder.fail('artifact', check, summary, { sha256: evidence.sha256 });
    return evidence;
  }

  /** Puts a file on the shelf for later procedures of this environment. */
  produce(artifact: Omit<ProducedArtifact, 'producedBy'>): void {
    this.environment.artifacts.set(artifact.name, { ...artifact, producedBy: this.procedureId });
  }

  find(name: string): ProducedArtifact | undefined {
    return this.environment.artifacts.get(name);
  }

  /** Path of a file as an operator in the project directory would type it. */
  relativeToProject(path: string): string {
    return `./${relative(this.projectDir, path)}`;
  }
}
