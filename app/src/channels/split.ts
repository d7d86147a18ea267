// Long answers go out as several messages, each under the platform's limit. Cuts fall on the
// most natural boundary available (paragraph, line, sentence, word), and a fenced code block
// that has to be cut is closed at the end of one part and reopened at the start of the next.

const FENCE_LINE = /^\s*(```|~~~)/;
const CLOSING_FENCE = '\n```';
const SENTENCE_END = /[。！？!?.;；](?=\s|$)|[。！？；]/g;

interface Cut {
  /** The part ends here... */
  end: number;
  /** ...and the next one starts here (separator whitespace dropped). */
  resume: number;
}

function lastSentenceEnd(window: string): number {
  let found = -1;
  for (const match of window.matchAll(SENTENCE_END)) found = (match.index ?? 0) + match[0].length;
  return found;
}

/** Where to cut `text` so that the part is at most `budget` characters. */
function chooseCut(text: string, budget: number): Cut {
  const window = text.slice(0, budget + 1);
  // A boundary in the first half would make a needlessly short part; try the next kind instead.
  const useful = (index: number) => index >= budget / 2 && index <= budget;

  const paragraph = window.lastIndexOf('\n\n');
  if (useful(paragraph)) return { end: paragraph, resume: paragraph + 2 };
  const line = window.lastIndexOf('\n');
  if (useful(line)) return { end: line, resume: line + 1 };
  const sentence = lastSentenceEnd(window.slice(0, budget));
  if (useful(sentence)) return { end: sentence, resume: sentence };
  const space = window.lastIndexOf(' ');
  if (useful(space)) return { end: space, resume: space + 1 };

  // No boundary: cut hard, but never between the two halves of a surrogate pair.
  let end = budget;
  const before = text.charCodeAt(end - 1);
  if (before >= 0xd800 && before <= 0xdbff) end -= 1;
  return { end, resume: end };
}

/** The opening fence line still open at the end of `text`, given the one open at its start. */
function openFenceAfter(text: string, openAtStart: string | null): string | null {
  let open = openAtStart;
  for (const line of text.split('\n')) {
    if (!FENCE_LINE.test(line)) continue;
    open = open === null ? line.trim() : null;
  }
  return open;
}

/** Splits `text` into parts of at most `limit` characters. */
export function splitMessage(text: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  let openFence: string | null = null;

  while (rest.length > 0) {
    const prefix: string = openFence === null ? '' : `${openFence}\n`;
    if (prefix.length + rest.length <= limit) {
      parts.push(prefix + rest);
      break;
    }
    // Room is kept for a closing fence in case the cut lands inside a code block.
    const budget = Math.max(1, limit - prefix.length - CLOSING_FENCE.length);
    const cut = chooseCut(rest, budget);
    const piece = rest.slice(0, cut.end).trimEnd();
    openFence = openFenceAfter(piece, openFence);
    parts.push(prefix + piece + (openFence === null ? '' : CLOSING_FENCE));
    rest = rest.slice(cut.resume).replace(/^\n+/, '');
  }
  return parts;
}
