import type { Procedure } from '../src/drill/procedure.ts';
import { fullBackup } from './procedures/full-backup.ts';
import { restoreCustom } from './procedures/restore-custom.ts';

/** Every procedure the drill knows, in runbook order. */
export const PROCEDURES: readonly Procedure[] = [fullBackup, restoreCustom];
