import type { Procedure } from '../src/drill/procedure.ts';
import { automatedBackup } from './procedures/automated-backup.ts';
import { configExport } from './procedures/config-export.ts';
import { drRecovery } from './procedures/dr-recovery.ts';
import { drRecoveryKeyLost } from './procedures/dr-recovery-key-lost.ts';
import { fullBackup } from './procedures/full-backup.ts';
import { restoreCustom } from './procedures/restore-custom.ts';
import { restoreSql } from './procedures/restore-sql.ts';
import { restoreTestDb } from './procedures/restore-test-db.ts';
import { schemaBackup } from './procedures/schema-backup.ts';
import { sqlBackup } from './procedures/sql-backup.ts';
import { volumeBackup } from './procedures/volume-backup.ts';
import { volumeRestore } from './procedures/volume-restore.ts';

/** Every procedure the drill knows, in runbook order. */
export const PROCEDURES: readonly Procedure[] = [
  fullBackup,
  sqlBackup,
  schemaBackup,
  automatedBackup,
  restoreCustom,
  restoreSql,
  restoreTestDb,
  volumeBackup,
  volumeRestore,
  configExport,
  drRecovery,
  drRecoveryKeyLost,
];
