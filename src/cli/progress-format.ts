/** Small text pieces of the live progress view. Widths count code points: the view uses no wide characters. */

const ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/y;

export const color = {
  green: (text: string) => `\u001b[32m${text}\u001b[39m`,
  red: (text: string) => `\u001b[31m${text}\u001b[39m`,
  yellow: (text: string) => `\u001b[33m${text}\u001b[39m`,
  cyan: (text: string) => `\u001b[36m${text}\u001b[39m`,
  dim: (text: string) => `\u001b[2m${text}\u001b[22m`,
  bold: (text: string) => `\u001b[1m${text}\u001b[22m`,
};

export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Cuts a line (which may hold colour codes) to `width` visible characters, ending in … when cut. */
export function fitLine(line: string, width: number): string {
  if (width <= 0) return '';
  if ([...stripAnsi(line)].length <= width) return line;
  let out = '';
  let visible = 0;
  let index = 0;
  while (index < line.length && visible < width - 1) {
    ESCAPE.lastIndex = index;
    const escape = ESCAPE.exec(line);
    if (escape) {
      out += escape[0];
      index += escape[0].length;
      continue;
    }
    const char = String.fromCodePoint(line.codePointAt(index)!);
    out += char;
    index += char.length;
    visible += 1;
  }
  return `${out}…\u001b[0m`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m ${rest}s` : `${minutes}m ${rest}s`;
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `▕██████░░░░▏ 60%`; `ratio` is clamped to [0, 1]. */
export function progressBar(ratio: number, width = 20): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(ratio) ? ratio : 0));
  const filled = Math.round(clamped * width);
  return `▕${'█'.repeat(filled)}${'░'.repeat(width - filled)}▏ ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

/** Text from the drill (commands, reasons, file names) with control characters made harmless: it must not move the cursor. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}
