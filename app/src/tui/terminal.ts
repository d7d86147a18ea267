import { constants } from 'node:os';
import { emitKeypressEvents, type Key } from 'node:readline';
import type { ReadStream, WriteStream } from 'node:tty';
import type { Frame, Row, Style } from './layout';
import type { Emphasis } from './markdown';
import { displayWidth } from './text';

// The full-screen UI speaks plain ECMA-48/VT100 plus three xterm private modes (alternate
// screen, cursor visibility, bracketed paste) that every terminal emulator in use understands.
// Nothing is looked up in terminfo, so an unknown TERM or a missing terminfo database cannot
// garble the screen; a terminal that lacks a private mode ignores it.
const CSI = '\x1b[';
const SEQUENCES = {
  enterAltScreen: `${CSI}?1049h`,
  leaveAltScreen: `${CSI}?1049l`,
  hideCursor: `${CSI}?25l`,
  showCursor: `${CSI}?25h`,
  bracketedPasteOn: `${CSI}?2004h`,
  bracketedPasteOff: `${CSI}?2004l`,
  clearScreen: `${CSI}2J`,
  resetStyle: `${CSI}0m`,
  clearToLineEnd: `${CSI}K`,
};
const moveTo = (row: number, column: number) => `${CSI}${row + 1};${column + 1}H`;

const STYLES: Record<Style, string> = {
  bar: `${CSI}7m`,
  user: `${CSI}1;36m`,
  assistant: `${CSI}1;32m`,
  error: `${CSI}1;31m`,
  heading: `${CSI}1m`,
  code: `${CSI}36m`,
  plain: '',
};
// NO_COLOR (no-color.org): no colours and no emphasis; the bars keep reverse video, which marks
// them apart from the conversation without colour.
const NO_COLOR_STYLES: Record<Style, string> = { ...STYLES, user: '', assistant: '', error: '', heading: '', code: '' };
const EMPHASIS: Record<Emphasis, string> = { bold: `${CSI}1m`, italic: `${CSI}3m`, code: `${CSI}36m` };

/**
 * A row as written: its style, its text with SGR switched at every edge of its emphasis
 * (spans may nest: bold inside italic), then a reset. The text is the layout's, already
 * sanitized, so the only escape sequences here are these.
 */
function styledRow({ text, style, spans = [] }: Row, styles: Record<Style, string>, emphasis: boolean): string {
  if (!emphasis || spans.length === 0) return styles[style] + text + SEQUENCES.resetStyle;
  const edges = [...new Set([0, text.length, ...spans.flatMap((span) => [span.start, span.end])])]
    .filter((edge) => edge <= text.length)
    .sort((a, b) => a - b);
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const [from, to] = [edges[i], edges[i + 1]];
    const active = spans.filter((span) => span.start <= from && span.end >= to).map((span) => EMPHASIS[span.emphasis]);
    out += SEQUENCES.resetStyle + styles[style] + active.join('') + text.slice(from, to);
  }
  return out + SEQUENCES.resetStyle;
}

/** Where the full-screen chat draws: a real terminal, or a test's record of frames. */
export interface Display {
  readonly size: { columns: number; rows: number };
  paint(frame: Frame): void;
}

export type KeyHandler = (text: string | undefined, key: Key) => void;

/**
 * The terminal while the full-screen chat owns it: raw keyboard input, the alternate screen,
 * and a promise to put everything back however the process ends (quit, Ctrl-C, SIGTERM,
 * SSH hang-up, crash).
 */
export class TerminalDisplay implements Display {
  private previousRows: string[] = [];
  private active = false;
  private readonly styles: Record<Style, string>;

  /** `colour`: false for NO_COLOR, which leaves colours and emphasis out. */
  constructor(
    private readonly input: ReadStream,
    private readonly output: WriteStream,
    private readonly colour: boolean,
  ) {
    this.styles = colour ? STYLES : NO_COLOR_STYLES;
  }

  get size(): { columns: number; rows: number } {
    return { columns: this.output.columns || 80, rows: this.output.rows || 24 };
  }

  start(onKey: KeyHandler, onResize: () => void): void {
    this.active = true;
    installRestoreHandlers(() => this.restore());
    emitKeypressEvents(this.input);
    this.input.setRawMode(true);
    this.input.on('keypress', onKey);
    this.input.resume();
    this.output.on('resize', () => {
      // A resize can leave stray cells anywhere: repaint every row.
      this.previousRows = [];
      onResize();
    });
    this.output.write(SEQUENCES.enterAltScreen + SEQUENCES.bracketedPasteOn);
  }

  /** Draws a frame in one write, rewriting only rows that changed (cheap over slow SSH links). */
  paint(frame: Frame): void {
    let out = SEQUENCES.hideCursor;
    if (this.previousRows.length !== frame.rows.length) {
      out += SEQUENCES.resetStyle + SEQUENCES.clearScreen;
      this.previousRows = [];
    }
    frame.rows.forEach((row, index) => {
      const styled = styledRow(row, this.styles, this.colour);
      if (this.previousRows[index] === styled) return;
      // Only a row shorter than the screen needs the rest erased: after a full-width row the
      // cursor sits on the last cell, and erasing there would eat that cell.
      const erase = displayWidth(row.text) < this.size.columns ? SEQUENCES.clearToLineEnd : '';
      out += moveTo(index, 0) + styled + erase;
      this.previousRows[index] = styled;
    });
    out += moveTo(frame.cursor.row, frame.cursor.column) + SEQUENCES.showCursor;
    this.output.write(out);
  }

  /** Puts the terminal back as it was. Safe to call more than once. */
  restore(): void {
    if (!this.active) return;
    this.active = false;
    this.output.write(SEQUENCES.resetStyle + SEQUENCES.bracketedPasteOff + SEQUENCES.showCursor + SEQUENCES.leaveAltScreen);
    this.input.setRawMode(false);
    this.input.pause();
  }
}

function installRestoreHandlers(restore: () => void): void {
  process.once('exit', restore);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      restore();
      process.exit(128 + constants.signals[signal]);
    });
  }
  const crash = (error: unknown) => {
    restore();
    process.stderr.write(`clawdbot-chat crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
}
