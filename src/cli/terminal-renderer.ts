import { fitLine } from './progress-format.ts';

/** The part of a TTY write stream the renderer uses (a fake one in tests). */
export interface TerminalStream {
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean;
  columns?: number;
  rows?: number;
}

export interface TerminalRendererOptions {
  /** Redraw period; 100 ms = at most 10 frames a second. */
  intervalMs?: number;
  /**
   * Route anyone else's writes to the stream (a library warning, a stray console.error) above the
   * live frame, so they neither tear it nor get erased by the next redraw.
   */
  captureForeignWrites?: boolean;
}

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const ERASE_DOWN = '\u001b[0J';
// Terminals that know "synchronized output" show a frame at once instead of line by line; others ignore it.
const BEGIN_SYNC = '\u001b[?2026h';
const END_SYNC = '\u001b[?2026l';

/**
 * Draws a frame of lines at the bottom of a terminal and redraws it in place with ANSI cursor
 * control: up over the previous frame, erase to the end of the screen, write the new one, all in
 * one write. Lines are cut to the width and the frame to the height, because a line that wraps or
 * scrolls off can no longer be erased.
 */
export class TerminalRenderer {
  private linesOnScreen = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly write: (text: string) => void;
  private originalWrite: { own: boolean; write: TerminalStream['write'] } | undefined;
  private readonly restoreCursorOnExit = () => this.write(SHOW_CURSOR);

  constructor(
    private readonly stream: TerminalStream,
    private readonly frame: (size: { columns: number; rows: number }) => string[],
    private readonly options: TerminalRendererOptions = {},
  ) {
    const write = stream.write.bind(stream);
    this.write = (text) => void write(text);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.write(HIDE_CURSOR);
    // A crash must not leave the user's terminal without a cursor.
    process.once('exit', this.restoreCursorOnExit);
    if (this.options.captureForeignWrites ?? true) this.captureForeignWrites();
    this.render();
    this.timer = setInterval(() => this.render(), this.options.intervalMs ?? 100);
    this.timer.unref();
  }

  /** Draws the current frame now (the timer calls it; tests call it directly). */
  render(): void {
    if (!this.running) return;
    const size = this.size();
    const lines = this.frame(size).slice(0, Math.max(1, size.rows - 1));
    this.write(`${BEGIN_SYNC}${this.eraseFrame()}${lines.map((line) => `${fitLine(line, size.columns - 1)}\n`).join('')}${END_SYNC}`);
    this.linesOnScreen = lines.length;
  }

  /** Stops redrawing, replaces the live frame with `finalText` (left on screen, any length) and gives the cursor back. */
  stop(finalText: string[] = []): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.releaseForeignWrites();
    process.removeListener('exit', this.restoreCursorOnExit);
    const columns = this.size().columns;
    const body = finalText
      .flatMap((text) => text.split('\n'))
      .map((line) => `${fitLine(line, Math.max(columns - 1, 40))}\n`)
      .join('');
    this.write(`${this.eraseFrame()}${body}${SHOW_CURSOR}`);
    this.linesOnScreen = 0;
  }

  private size(): { columns: number; rows: number } {
    // A pseudo-terminal nobody sized reports 0: assume the classic 80×24.
    return { columns: this.stream.columns || 80, rows: this.stream.rows || 24 };
  }

  private eraseFrame(): string {
    return this.linesOnScreen > 0 ? `\r\u001b[${this.linesOnScreen}A${ERASE_DOWN}` : '';
  }

  private captureForeignWrites(): void {
    this.originalWrite = { own: Object.hasOwn(this.stream, 'write'), write: this.stream.write };
    this.stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      this.write(`${this.eraseFrame()}${text}${text.endsWith('\n') ? '' : '\n'}`);
      this.linesOnScreen = 0;
      this.render();
      const callback = rest.find((value): value is () => void => typeof value === 'function');
      callback?.();
      return true;
    }) as TerminalStream['write'];
  }

  private releaseForeignWrites(): void {
    if (!this.originalWrite) return;
    if (this.originalWrite.own) this.stream.write = this.originalWrite.write;
    else delete (this.stream as Partial<TerminalStream>).write;
    this.originalWrite = undefined;
  }
}
