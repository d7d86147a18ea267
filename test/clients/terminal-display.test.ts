import type { ReadStream, WriteStream } from 'node:tty';
import { layout, type Screen } from '../../app/src/tui/layout';
import { TerminalDisplay } from '../../app/src/tui/terminal';

// What the full-screen chat writes to the terminal for a reply: emphasis as SGR on a colour
// terminal, plain under NO_COLOR, and never an escape sequence that came from the model.

const COLUMNS = 60;

/** Paints the screen showing `reply` once and returns every byte written. */
function paintReply(reply: string, colour: boolean): string {
  let written = '';
  const output = { columns: COLUMNS, rows: 12, write: (chunk: string) => (written += chunk) } as unknown as WriteStream;
  const display = new TerminalDisplay({} as ReadStream, output, colour);
  const screen: Screen = { title: 'clawdbot | rules', entries: [{ role: 'assistant', text: reply }], status: 'Enter: send', scrollBack: 0 };
  display.paint(layout(screen, { text: '', cursorColumn: 0 }, COLUMNS, 12));
  return written;
}

const SGR = /\x1b\[[0-9;]*m/g;
/** Every sequence the display itself writes: cursor moves, erases, screen modes and SGR. */
const OWN_SEQUENCES = /\x1b\[(?:\?(?:1049|25|2004)[hl]|[0-9;]*[HJKm])/g;

describe('the full-screen chat on a terminal', () => {
  const reply = 'Some **bold**, some *italic* and `npm start`.';

  it('draws bold, italic and inline code with terminal styles, markers removed', () => {
    const out = paintReply(reply, true);
    expect(out).toContain('\x1b[1mbold\x1b[0m');
    expect(out).toContain('\x1b[3mitalic\x1b[0m');
    expect(out).toContain('\x1b[36m`npm start`\x1b[0m');
    expect(out.replace(SGR, '')).toContain('Some bold, some italic and `npm start`.');
    expect(out).not.toContain('**');
  });

  it('nests emphasis and keeps it across a wrapped line', () => {
    const out = paintReply(`*an italic run with **bold inside** that goes on past the edge of this narrow screen*`, true);
    expect(out).toMatch(/(\x1b\[3m\x1b\[1m|\x1b\[1m\x1b\[3m)bold inside\x1b\[0m/);
    // The second row of the wrapped paragraph is still italic.
    const rows = out.split(/\x1b\[\d+;1H/);
    const continued = rows.find((row) => row.includes('screen'));
    expect(continued).toMatch(/\x1b\[3m[^\x1b]*screen/);
  });

  it('under NO_COLOR writes the same text with no colour and no emphasis', () => {
    const out = paintReply(reply, false);
    expect(out.replace(SGR, '')).toContain('Some bold, some italic and `npm start`.');
    const styles = new Set(out.match(SGR));
    expect([...styles].sort()).toEqual(['\x1b[0m', '\x1b[7m']);
  });

  it.each([true, false])('lets no escape sequence of the model reach the terminal (colour: %p)', (colour) => {
    const hostile = [
      '**\x1b[31mred\x1b[0m** and *\x1b]0;pwned-title\x07italic*',
      '`\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\` \x9b2J \x1bc \x07',
      '```',
      '\x1b[2J\x1b[Hcode \x1bP+q\x1b\\',
      '```',
    ].join('\n');
    const out = paintReply(hostile, colour);
    expect(out).not.toContain('\x1b[31m');
    expect(out).not.toContain('\x1b]');
    expect(out).toContain('red');
    // Take away the display's own sequences: no ESC, BEL, C1 control or CSI remains.
    expect(out.replace(OWN_SEQUENCES, '')).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    // Exactly one clear screen: the display's own, for the first frame.
    expect(out.match(/\x1b\[2J/g)).toHaveLength(1);
  });
});
