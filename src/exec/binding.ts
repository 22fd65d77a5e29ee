/** A declared substitution in a block's text, e.g. the runbook's dated dump name → the file the backup produced. */
export interface Binding {
  placeholder: string;
  value: string;
  reason: string;
}

export interface AppliedBinding extends Binding {
  occurrences: number;
}

export class BindingError extends Error {
  override readonly name = 'BindingError';
}

/** Substitutes only the declared placeholders; a placeholder absent from the text is a drift in itself. */
export function applyBindings(text: string, bindings: readonly Binding[]): { text: string; applied: AppliedBinding[] } {
  let result = text;
  const applied: AppliedBinding[] = [];
  for (const binding of bindings) {
    const occurrences = result.split(binding.placeholder).length - 1;
    if (occurrences === 0) {
      throw new BindingError(`binding placeholder ${JSON.stringify(binding.placeholder)} does not occur in the block (${binding.reason})`);
    }
    result = result.split(binding.placeholder).join(binding.value);
    applied.push({ ...binding, occurrences });
  }
  return { text: result, applied };
}
