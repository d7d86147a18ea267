import { markdownLines, sliceSpans, type EmphasisSpan, type MarkdownLine } from './markdown';
import { fitToWidth, sanitize, wrap } from './text';

export type Role = 'user' | 'assistant' | 'info' | 'error';

export interface Entry {
  role: Role;
  text: string;
  /** Who answered a reply (the model, or the rules engine by hybrid routing). */
  answeredBy?: string;
}

export type Style = 'bar' | 'user' | 'assistant' | 'error' | 'plain' | 'heading' | 'code';

const LINE_STYLES: Record<MarkdownLine['kind'], Style> = { text: 'plain', quote: 'plain', heading: 'heading', code: 'code' };

/** One screen row: text exactly `columns` wide (or less on the input row), and how to colour it. */
export interface Row {
  text: string;
  style: Style;
  /** Bold, italic or inline code inside the row, when there is any. */
  spans?: EmphasisSpan[];
}

export interface Screen {
  /** Top bar: who we talk to. */
  title: string;
  entries: Entry[];
  /** The reply arriving right now, shown after the entries. */
  streaming?: string;
  /** Bottom bar: what keys do now, or what is happening. */
  status: string;
  /** Transcript rows scrolled back from the newest; 0 follows the conversation. */
  scrollBack: number;
}

export interface Frame {
  rows: Row[];
  cursor: { row: number; column: number };
}

export const PROMPT = '> ';
export const MIN_COLUMNS = 20;
export const MIN_ROWS = 6;
const INDENT = '  ';
// The title, status and input rows.
const CHROME_ROWS = 3;
// Labels and marks are ASCII: East Asian terminals draw "ambiguous" symbols (… · ›) two
// columns wide, which would shift every row that holds one.
const LABELS: Record<Role, { text: string; style: Style } | undefined> = {
  user: { text: 'You', style: 'user' },
  assistant: { text: 'clawdbot', style: 'assistant' },
  error: { text: 'Error', style: 'error' },
  info: undefined,
};

/** Every row of the conversation at this width, oldest first. */
export function transcriptRows(entries: Entry[], streaming: string | undefined, columns: number): Row[] {
  const all = streaming === undefined ? entries : [...entries, { role: 'assistant' as const, text: streaming }];
  const rows: Row[] = [];
  for (const entry of all) {
    const label = LABELS[entry.role];
    if (label) rows.push({ text: fitToWidth(sanitize(entry.answeredBy ? `${label.text} - ${entry.answeredBy}` : label.text), columns), style: label.style });
    const indent = label ? INDENT : '';
    // Replies are Markdown; the rest is shown as typed.
    const lines: MarkdownLine[] =
      entry.role === 'assistant' ? markdownLines(sanitize(entry.text)) : [{ text: sanitize(entry.text), kind: 'text' }];
    const bodyStyle: Style = entry.role === 'error' ? 'error' : 'plain';
    for (const { text, kind, spans } of lines) {
      const style = kind === 'text' ? bodyStyle : LINE_STYLES[kind];
      let from = 0;
      for (const line of wrap(text, columns - indent.length)) {
        const row: Row = { text: fitToWidth(indent + line, columns), style };
        // wrap() drops the spaces it breaks at: the line starts at its next occurrence.
        const start = text.indexOf(line, from);
        from = start + line.length;
        const inRow = spans ? sliceSpans(spans, start, from, indent.length) : [];
        rows.push(inRow.length > 0 ? { ...row, spans: inRow } : row);
      }
    }
    rows.push({ text: fitToWidth('', columns), style: 'plain' });
  }
  return rows;
}

/** The largest useful scrollBack for this screen size. */
export function maxScrollBack(screen: Screen, columns: number, rows: number): number {
  const height = rows - CHROME_ROWS;
  return Math.max(0, transcriptRows(screen.entries, screen.streaming, columns).length - height);
}

/**
 * The whole screen for a terminal of `columns` x `rows`. The input row stays one column short
 * of the right edge: writing the last cell of the last row makes some terminals scroll.
 */
export function layout(screen: Screen, input: { text: string; cursorColumn: number }, columns: number, rows: number): Frame {
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) {
    const text = fitToWidth(`Terminal too small (${columns}x${rows}); need ${MIN_COLUMNS}x${MIN_ROWS}.`, Math.max(0, columns - 1));
    return { rows: [{ text, style: 'plain' }], cursor: { row: 0, column: 0 } };
  }
  const height = rows - CHROME_ROWS;
  const transcript = transcriptRows(screen.entries, screen.streaming, columns);
  const end = transcript.length - Math.min(screen.scrollBack, Math.max(0, transcript.length - height));
  const visible = transcript.slice(Math.max(0, end - height), end);
  const blank: Row = { text: fitToWidth('', columns), style: 'plain' };

  const frameRows: Row[] = [
    { text: fitToWidth(` ${sanitize(screen.title)}`, columns), style: 'bar' },
    ...visible,
    ...Array.from({ length: height - visible.length }, () => blank),
    { text: fitToWidth(` ${sanitize(screen.status)}`, columns), style: 'bar' },
    { text: PROMPT + input.text, style: 'plain' },
  ];
  return { rows: frameRows, cursor: { row: rows - 1, column: PROMPT.length + input.cursorColumn } };
}

/** Columns the input line may use at this width. */
export function inputWidth(columns: number): number {
  return Math.max(1, columns - PROMPT.length - 1);
}
