/**
 * What a terminal would show after the output: a minimal emulator of exactly the controls the
 * renderer uses (newline, carriage return, cursor up, erase down, colours and modes ignored).
 * It proves that redraws erase what they replace, not just that the right text was written.
 */
export function screenOf(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (let index = 0; index < output.length; ) {
    const escape = /^\u001b\[([0-9;?]*)([A-Za-z])/.exec(output.slice(index));
    if (escape) {
      const [all, argument, command] = escape;
      if (command === 'A') row = Math.max(0, row - Number(argument || 1));
      if (command === 'J') {
        lines[row] = lines[row]!.slice(0, col);
        lines.splice(row + 1);
      }
      index += all.length;
      continue;
    }
    const char = String.fromCodePoint(output.codePointAt(index)!);
    index += char.length;
    if (char === '\n') {
      row += 1;
      col = 0;
      while (lines.length <= row) lines.push('');
    } else if (char === '\r') {
      col = 0;
    } else {
      const line = [...lines[row]!];
      while (line.length < col) line.push(' ');
      line[col] = char;
      lines[row] = line.join('');
      col += 1;
    }
  }
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
