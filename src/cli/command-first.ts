import type { Command } from 'commander';

/**
 * Moves a subcommand name typed after options to the front, as git and docker accept
 * (`nmia-drill --config drill.json plan` → `nmia-drill plan --config drill.json`). Commander would
 * otherwise hand the options and the name to the default command, which takes no arguments.
 * A token that is the value of an option (`--runbook plan`) stays where it is; so does anything after
 * `--`. Only the first subcommand name moves: later ones are arguments (`verify-evidence list`).
 */
export function commandFirst(args: readonly string[], program: Command): string[] {
  const commands = new Set(program.commands.flatMap((command) => [command.name(), ...command.aliases()]));
  if (args.length === 0 || commands.has(args[0]!)) return [...args];
  const flagsOf = (wanted: (option: Command['options'][number]) => boolean) =>
    new Set(
      program.commands.flatMap((command) =>
        command.options.filter(wanted).flatMap((option) => [option.long, option.short].filter(Boolean) as string[]),
      ),
    );
  const requiresValue = flagsOf((option) => option.required);
  const mayTakeValue = flagsOf((option) => option.optional);
  for (let index = 0; index < args.length; index++) {
    const token = args[index]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      // `--config=drill.json` carries its value; `--config drill.json` takes the next token.
      // An optional value (`--parallel-restore-hint [jobs]`) is never a command name.
      const next = args[index + 1];
      if (
        !token.includes('=') &&
        (requiresValue.has(token) || (mayTakeValue.has(token) && next !== undefined && !commands.has(next) && !next.startsWith('-')))
      )
        index++;
      continue;
    }
    if (commands.has(token)) return [token, ...args.slice(0, index), ...args.slice(index + 1)];
    // A bare word that is not a command: leave the order alone and let commander say what is wrong.
    return [...args];
  }
  return [...args];
}
