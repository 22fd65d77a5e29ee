import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isOpenPgpMessage } from '../../src/custody/backup-key.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Binding } from '../../src/exec/binding.ts';

/** True when the section names its input as `<placeholder>.gpg`: a runbook that decrypts its backups before restoring. */
export function sectionDecrypts(context: ProcedureContext, placeholder: string): boolean {
  return context.procedure.blocks.some((index) => context.block(index).text.includes(`${placeholder}.gpg`));
}

/**
 * Puts `source` at `target` in the form the section reads: encrypted with the drill's backup key when the section
 * decrypts (`target` then ends in `.gpg`), else as it is. A backup the runbook already encrypted is copied as is;
 * only the harness's own plaintext inputs (its dumps, damaged copies) are encrypted here. Returns the file handed over.
 */
export async function handOver(context: ProcedureContext, source: string, target: string, encrypted: boolean): Promise<string> {
  const handed = encrypted && !target.endsWith('.gpg') ? `${target}.gpg` : target;
  if (handed === source) return handed;
  if (encrypted && !(await isOpenPgpMessage(source)))
    await context.harnessAction(
      "input: encrypt with the drill's backup key (the section decrypts its backups)",
      `gpg --batch --symmetric --cipher-algo AES256 --passphrase-file <the drill's key> --output ${basename(handed)} ${basename(source)}`,
      () => context.drill.backupKey.encrypt(source, handed, context.stack.workspace.harnessDir),
    );
  else await copyFile(source, handed);
  return handed;
}

/**
 * The binding of a restore section's input file (the runbook's example name → the file the drill hands it). Where
 * the section reads `<placeholder>.gpg`, the placeholder is bound to the name without `.gpg` and the file handed
 * over is encrypted; otherwise to the file as it is. `value: 'basename'` for placeholders that are a bare file name.
 */
export async function inputFileBinding(
  context: ProcedureContext,
  input: { placeholder: string; file: string; reason: string; value: 'basename' | 'path' },
): Promise<Binding> {
  const decrypts = sectionDecrypts(context, input.placeholder);
  let handed = input.file;
  const present = existsSync(input.file);
  if (decrypts && !(input.file.endsWith('.gpg') && present && (await isOpenPgpMessage(input.file)))) {
    handed = `${input.file.replace(/\.gpg$/, '')}.gpg`;
    // Nothing to hand over when the input is missing (a dry run's planned file): the binding is the same either way.
    if (present && !existsSync(handed)) await handOver(context, input.file, handed, true);
  }
  const bound = decrypts ? handed.slice(0, -'.gpg'.length) : handed;
  return { placeholder: input.placeholder, value: input.value === 'basename' ? basename(bound) : bound, reason: input.reason };
}
