import stringWidth from 'string-width';

// Terminal text: what may be printed, and how many columns it takes. Chinese, Japanese and
// Korean characters and most emoji take two columns; combining marks take none. Layout counts
// columns per grapheme (what a person sees as one character), never per UTF-16 unit.

const TAB = '    ';
// CSI (ESC [ ... final byte) and OSC (ESC ] ... BEL or ESC \) sequences, removed whole so that
// no "[31m" remnants are left behind; any other ESC is dropped with the control characters.
const ESCAPE_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
// C0 controls except newline, DEL, and C1 controls.
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text from the model or a person, made safe to print: escape sequences and control
 * characters could move the cursor, recolour or retitle the terminal, so they go.
 */
export function sanitize(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\t/g, TAB).replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Columns one grapheme takes: 0 (combining), 1, or 2 (wide). */
export function graphemeWidth(grapheme: string): number {
  return Math.min(2, stringWidth(grapheme));
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const g of graphemes(text)) width += graphemeWidth(g);
  return width;
}

/** The longest prefix of text that fits in `width` columns, padded with spaces to exactly `width`. */
export function fitToWidth(text: string, width: number): string {
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (used + w > width) break;
    out += g;
    used += w;
  }
  return out + ' '.repeat(width - used);
}

/**
 * Wraps text into lines of at most `width` columns. Latin text breaks at spaces where it can;
 * CJK text (no spaces) and over-long words break between graphemes. A wide character never
 * straddles the edge: it moves to the next line.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line: string[] = [];
    let lineWidth = 0;
    let lastSpace = -1;
    for (const g of graphemes(paragraph)) {
      const w = graphemeWidth(g);
      if (lineWidth + w > width && line.length > 0) {
        if (g === ' ') {
          // A space at the edge is the break itself.
          lines.push(line.join('').trimEnd());
          line = [];
          lineWidth = 0;
          lastSpace = -1;
          continue;
        }
        const carry = lastSpace > 0 ? line.splice(lastSpace + 1) : [];
        lines.push(line.join('').trimEnd());
        line = carry;
        lineWidth = carry.reduce((sum, c) => sum + graphemeWidth(c), 0);
        lastSpace = -1;
      }
      if (g === ' ') lastSpace = line.length;
      line.push(g);
      lineWidth += w;
    }
    lines.push(line.join('').trimEnd());
  }
  return lines;
}
