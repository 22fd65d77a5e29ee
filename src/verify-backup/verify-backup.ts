/**
 * verify-backup: proves a real backup file (e.g. last night's production dump) restores and is the
 * NMIA database it should be, with the same evidence bundle a drill writes. See backup-verification.ts.
 */
import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { Journal } from '../evidence/journal.ts';
import { BackupVerification, type VerifyBackupOptions } from './backup-verification.ts';

export type { VerifyBackupOptions } from './backup-verification.ts';
export { CORE_TABLES } from '../../nmia/schema/nmia-schema.ts';
export { PROCEDURE_ID } from './backup-verification.ts';
export { writeManifestSidecar, readManifestSidecar, sidecarPathFor } from './manifest-sidecar.ts';
export { checkClientServerVersions } from './version-check.ts';
export { runVerifyBackupCommand } from './verify-backup-command.ts';

export async function verifyBackup(options: VerifyBackupOptions): Promise<{ journal: Journal; files: EvidenceFiles }> {
  return new BackupVerification(options).run();
}
