import { graphemes, graphemeWidth } from './text';

/** How a newline inside the input (from a paste) is shown on the one-line input row. */
const NEWLINE_MARK = '↵';
const HISTORY_LIMIT = 100;

/**
 * The input line of the full-screen chat: editing by grapheme (so a CJK character or an emoji
 * is one cursor step), history of sent lines, and a horizontally scrolled view.
 */
export class LineEditor {
  private chars: string[] = [];
  private cursor = 0;
  private readonly history: string[] = [];
  /** Position while browsing history; history.length means "the line being written". */
  private historyIndex = 0;
  private draft = '';

  get text(): string {
    return this.chars.join('');
  }

  get isEmpty(): boolean {
    return this.chars.length === 0;
  }

  insert(text: string): void {
    const added = graphemes(text);
    this.chars.splice(this.cursor, 0, ...added);
    this.cursor += added.length;
  }

  backspace(): void {
    if (this.cursor === 0) return;
    this.chars.splice(this.cursor - 1, 1);
    this.cursor -= 1;
  }

  deleteForward(): void {
    this.chars.splice(this.cursor, 1);
  }

  left(): void {
    this.cursor = Math.max(0, this.cursor - 1);
  }

  right(): void {
    this.cursor = Math.min(this.chars.length, this.cursor + 1);
  }

  home(): void {
    this.cursor = 0;
  }

  end(): void {
    this.cursor = this.chars.length;
  }

  deleteToStart(): void {
    this.chars.splice(0, this.cursor);
    this.cursor = 0;
  }

  deleteToEnd(): void {
    this.chars.splice(this.cursor);
  }

  /** Ctrl-W: the word before the cursor and the spaces after it. */
  deleteWordBack(): void {
    let start = this.cursor;
    while (start > 0 && /\s/.test(this.chars[start - 1])) start -= 1;
    while (start > 0 && !/\s/.test(this.chars[start - 1])) start -= 1;
    this.chars.splice(start, this.cursor - start);
    this.cursor = start;
  }

  historyPrevious(): void {
    if (this.historyIndex === 0) return;
    if (this.historyIndex === this.history.length) this.draft = this.text;
    this.historyIndex -= 1;
    this.replace(this.history[this.historyIndex]);
  }

  historyNext(): void {
    if (this.historyIndex >= this.history.length) return;
    this.historyIndex += 1;
    this.replace(this.historyIndex === this.history.length ? this.draft : this.history[this.historyIndex]);
  }

  /** Empties the line and returns what it held, remembering it in history. */
  take(): string {
    const text = this.text;
    if (text.trim() && this.history[this.history.length - 1] !== text) {
      this.history.push(text);
      if (this.history.length > HISTORY_LIMIT) this.history.shift();
    }
    this.historyIndex = this.history.length;
    this.draft = '';
    this.replace('');
    return text;
  }

  /**
   * What fits in `width` columns, scrolled so that the cursor is visible, and the cursor's
   * column within it. One column is kept free for the cursor at the end of the line.
   */
  view(width: number): { text: string; cursorColumn: number } {
    const shown = this.chars.map((c) => (c === '\n' ? NEWLINE_MARK : c));
    const widths = shown.map(graphemeWidth);
    let start = 0;
    let beforeCursor = widths.slice(0, this.cursor).reduce((a, b) => a + b, 0);
    while (beforeCursor >= width && start < this.cursor) {
      beforeCursor -= widths[start];
      start += 1;
    }
    let text = '';
    let used = 0;
    for (let i = start; i < shown.length && used + widths[i] <= width; i += 1) {
      text += shown[i];
      used += widths[i];
    }
    return { text, cursorColumn: beforeCursor };
  }

  private replace(text: string): void {
    this.chars = graphemes(text);
    this.cursor = this.chars.length;
  }
}
