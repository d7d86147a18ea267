import MarkdownIt from 'markdown-it';

type Token = MarkdownIt.Token;

export type Emphasis = 'bold' | 'italic' | 'code';

/** A stretch of a line's text in bold, italic or inline code: UTF-16 offsets, end excluded. */
export interface EmphasisSpan {
  start: number;
  end: number;
  emphasis: Emphasis;
}

/** One line of a reply as the full-screen chat shows it: its text, and how to draw it. */
export interface MarkdownLine {
  text: string;
  kind: 'text' | 'heading' | 'code' | 'quote';
  /** Emphasis in the text, when there is any. */
  spans?: EmphasisSpan[];
}

/** The spans inside text[from, to), moved to where that part of the text now starts (`at`). */
export function sliceSpans(spans: EmphasisSpan[], from: number, to: number, at: number): EmphasisSpan[] {
  return spans
    .filter((span) => span.start < to && span.end > from)
    .map((span) => ({ start: Math.max(span.start, from) - from + at, end: Math.min(span.end, to) - from + at, emphasis: span.emphasis }));
}

/** A line, with its spans only when it has some (most lines have none). */
function line(text: string, kind: MarkdownLine['kind'], spans: EmphasisSpan[] = []): MarkdownLine {
  return spans.length > 0 ? { text, kind, spans } : { text, kind };
}

const EMPHASIS_OPENERS: Partial<Record<string, Emphasis>> = { strong_open: 'bold', em_open: 'italic' };
const EMPHASIS_CLOSERS: Partial<Record<string, Emphasis>> = { strong_close: 'bold', em_close: 'italic' };

// The same parser and options as the web page (app/public/markdown.js): raw HTML is text.
const md = new MarkdownIt({ html: false, linkify: true });

/**
 * The text of an inline token and where its emphasis is: emphasis markers go (bold and italic
 * become spans), inline code keeps its backticks and is a span too, links show their address.
 */
function inlineText(token: Token): { text: string; spans: EmphasisSpan[] } {
  let text = '';
  let href: string | undefined;
  const spans: EmphasisSpan[] = [];
  const open = new Map<Emphasis, number>();
  for (const child of token.children ?? []) {
    const opener = EMPHASIS_OPENERS[child.type];
    const closer = EMPHASIS_CLOSERS[child.type];
    if (opener) open.set(opener, text.length);
    else if (closer !== undefined && open.has(closer)) {
      spans.push({ start: open.get(closer) ?? 0, end: text.length, emphasis: closer });
      open.delete(closer);
    } else if (child.type === 'text') text += child.content;
    else if (child.type === 'code_inline') {
      spans.push({ start: text.length, end: text.length + child.content.length + 2, emphasis: 'code' });
      text += `\`${child.content}\``;
    } else if (child.type === 'softbreak' || child.type === 'hardbreak') text += '\n';
    else if (child.type === 'image') text += child.content;
    else if (child.type === 'link_open') href = String(child.attrGet('href') ?? '') || undefined;
    else if (child.type === 'link_close' && href && !text.endsWith(href)) text += ` <${href}>`;
  }
  return { text, spans: spans.filter((span) => span.end > span.start) };
}

/**
 * A reply's Markdown as terminal lines: headings, paragraphs, lists with their markers and
 * indentation, quotes, tables as rows of cells, and code blocks set apart (a label line, then
 * the code, drawn in its own style). ASCII marks only: East Asian terminals draw "ambiguous"
 * symbols two columns wide. The text must already be sanitized (no escape sequences).
 */
export function markdownLines(markdown: string): MarkdownLine[] {
  const lines: MarkdownLine[] = [];
  /** Open lists: the marker of their next item (a number for ordered lists). */
  const lists: Array<{ next: number | undefined }> = [];
  let marker = '';
  let quoted = false;
  let heading = false;
  let row: string[] | undefined;
  const indent = () => '  '.repeat(Math.max(0, lists.length - 1));
  const blank = () => {
    if (lines.length > 0 && lines[lines.length - 1].text !== '') lines.push({ text: '', kind: 'text' });
  };

  for (const token of md.parse(markdown, {})) {
    switch (token.type) {
      case 'heading_open':
        blank();
        heading = true;
        break;
      case 'heading_close':
        heading = false;
        blank();
        break;
      case 'paragraph_close':
        if (lists.length === 0) blank();
        break;
      case 'bullet_list_open':
      case 'ordered_list_open':
        lists.push({ next: token.type === 'ordered_list_open' ? Number(token.attrGet('start') ?? 1) : undefined });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        lists.pop();
        if (lists.length === 0) blank();
        break;
      case 'list_item_open': {
        const list = lists[lists.length - 1];
        marker = list.next === undefined ? '- ' : `${list.next++}. `;
        break;
      }
      case 'blockquote_open':
        quoted = true;
        break;
      case 'blockquote_close':
        quoted = false;
        blank();
        break;
      case 'tr_open':
        row = [];
        break;
      case 'tr_close':
        lines.push({ text: `| ${(row ?? []).join(' | ')} |`, kind: 'text' });
        row = undefined;
        break;
      case 'table_close':
        blank();
        break;
      case 'hr':
        lines.push({ text: '----', kind: 'text' }, { text: '', kind: 'text' });
        break;
      case 'fence':
      case 'code_block': {
        blank();
        const language = token.info.trim().split(/\s+/)[0];
        lines.push({ text: `${indent()}--- ${language || 'code'} ---`, kind: 'code' });
        for (const code of token.content.replace(/\n$/, '').split('\n')) lines.push({ text: `${indent()}  ${code}`, kind: 'code' });
        blank();
        break;
      }
      case 'inline': {
        const { text, spans } = inlineText(token);
        if (row) {
          row.push(text.replace(/\n/g, ' '));
          break;
        }
        const kind = heading ? 'heading' : quoted ? 'quote' : 'text';
        let from = 0;
        text.split('\n').forEach((part, index) => {
          const prefix = `${quoted ? '> ' : ''}${lists.length > 0 ? indent() + (index === 0 ? marker : ' '.repeat(marker.length)) : ''}`;
          lines.push(line(prefix + part, kind, sliceSpans(spans, from, from + part.length, prefix.length)));
          from += part.length + 1;
        });
        marker = marker && ' '.repeat(marker.length);
        break;
      }
    }
  }
  while (lines.length > 0 && lines[lines.length - 1].text === '') lines.pop();
  return lines;
}
