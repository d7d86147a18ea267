import MarkdownIt from 'markdown-it';

type Token = MarkdownIt.Token;

/** One line of a reply as the full-screen chat shows it: its text, and how to draw it. */
export interface MarkdownLine {
  text: string;
  kind: 'text' | 'heading' | 'code' | 'quote';
}

// The same parser and options as the web page (app/public/markdown.js): raw HTML is text.
const md = new MarkdownIt({ html: false, linkify: true });

/** The text of an inline token: emphasis markers go, inline code keeps its backticks, links show their address. */
function inlineText(token: Token): string {
  let text = '';
  let href: string | undefined;
  for (const child of token.children ?? []) {
    if (child.type === 'text') text += child.content;
    else if (child.type === 'code_inline') text += `\`${child.content}\``;
    else if (child.type === 'softbreak' || child.type === 'hardbreak') text += '\n';
    else if (child.type === 'image') text += child.content;
    else if (child.type === 'link_open') href = String(child.attrGet('href') ?? '') || undefined;
    else if (child.type === 'link_close' && href && !text.endsWith(href)) text += ` <${href}>`;
  }
  return text;
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
        const text = inlineText(token);
        if (row) {
          row.push(text.replace(/\n/g, ' '));
          break;
        }
        const kind = heading ? 'heading' : quoted ? 'quote' : 'text';
        text.split('\n').forEach((line, index) => {
          const prefix = lists.length > 0 ? indent() + (index === 0 ? marker : ' '.repeat(marker.length)) : '';
          lines.push({ text: `${quoted ? '> ' : ''}${prefix}${line}`, kind });
        });
        marker = marker && ' '.repeat(marker.length);
        break;
      }
    }
  }
  while (lines.length > 0 && lines[lines.length - 1].text === '') lines.pop();
  return lines;
}
