import type { Key } from 'node:readline';
import { terminalClient } from '../../app/src/tui/client';
import { FullScreenChat } from '../../app/src/tui/fullscreen';
import type { Frame } from '../../app/src/tui/layout';
import type { Display } from '../../app/src/tui/terminal';
import { displayWidth } from '../../app/src/tui/text';
import type { FakeLLM } from '../helpers/fake-llm';
import { startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

/** A terminal stand-in that keeps the frames the chat paints. */
class RecordedDisplay implements Display {
  frames: Frame[] = [];
  constructor(public size: { columns: number; rows: number }) {}
  paint(frame: Frame): void {
    this.frames.push(frame);
  }
  get lines(): string[] {
    return (this.frames.at(-1)?.rows ?? []).map((row) => row.text.trimEnd());
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

const key = (name: string, extra: Partial<Key> = {}): Key => ({ name, ctrl: false, meta: false, shift: false, ...extra });

function type(chat: FullScreenChat, text: string): void {
  // Like readline's keypress events: one per character, CJK included.
  for (const character of text) chat.handleKey(character, { ...key(character), name: /^[a-z]$/.test(character) ? character : undefined });
}

function send(chat: FullScreenChat, text: string): void {
  type(chat, text);
  chat.handleKey('\r', key('return'));
}

async function until(display: RecordedDisplay, predicate: (text: string) => boolean): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (predicate(display.text)) return display.text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`screen never matched; it shows:\n${display.text}`);
}

describe('full-screen chat (painted on a recorded display)', () => {
  let gw: TestGateway & { fake: FakeLLM };
  beforeAll(async () => {
    gw = await startGatewayWithFakeModel();
  });
  afterAll(() => gw.close());

  function open(columns = 60, rows = 16) {
    const display = new RecordedDisplay({ columns, rows });
    const url = new URL(gw.url);
    const chat = new FullScreenChat(terminalClient(url, gw.apiKey), url, display, { name: 'fake-gpt', provider: 'openai' });
    chat.resize();
    return { display, chat };
  }

  it('shows the model in the top bar, the conversation, and the reply once streamed', async () => {
    const { display, chat } = open(80, 16);
    expect(display.lines[0]).toBe(` clawdbot | fake-gpt (openai) | new session | ${new URL(gw.url).host}`);
    send(chat, '你好，请介绍一下自己');
    const screen = await until(display, (t) => t.includes('echo: 你好，请介绍一下自己') && t.includes('Enter: send'));
    expect(screen).toMatch(/You\n {2}你好，请介绍一下自己\n\nclawdbot\n {2}echo: 你好，请介绍一下自己/);
    expect(display.lines[0]).toMatch(/\| session [0-9a-f]{8} \|/);
    for (const frame of display.frames) for (const row of frame.rows) expect(displayWidth(row.text)).toBeLessThanOrEqual(80);
  });

  it('paints the reply while it streams and stops it on Esc', async () => {
    const { display, chat } = open();
    gw.fake.enqueue({ text: 'partial words arrive then nothing more', stallAfterChunks: 2 });
    send(chat, 'stream please');
    await until(display, (t) => t.includes('partial words') && t.includes('Replying... Esc or Ctrl-C: stop'));
    chat.handleKey(undefined, key('escape'));
    await until(display, (t) => t.includes('partial words [stopped]') && t.includes('Enter: send'));
  });

  it('runs /model, /help, /new and refuses unknown commands', async () => {
    const { display, chat } = open(70, 30);
    send(chat, 'before the new session');
    await until(display, (t) => t.includes('echo: before the new session'));
    send(chat, '/model');
    await until(display, (t) => t.includes('Model: fake-gpt (openai)'));
    send(chat, '/help');
    await until(display, (t) => t.includes('/quit   leave'));
    send(chat, '/frobnicate');
    await until(display, (t) => t.includes('Unknown command /frobnicate'));
    send(chat, '/new');
    const screen = await until(display, (t) => t.includes('New session'));
    expect(screen).not.toContain('before the new session');
    expect(display.lines[0]).toContain('| new session |');
  });

  it('shows an error from the gateway in the conversation', async () => {
    const { display, chat } = open();
    gw.fake.enqueue({ status: 401 });
    send(chat, 'is the model up?');
    await until(display, (t) => /Error\n {2}The model is not available right now/.test(t));
  });

  it('edits the line, recalls history and keeps a pasted newline in one message', async () => {
    const { display, chat } = open();
    type(chat, 'helo');
    chat.handleKey(undefined, key('left'));
    type(chat, 'l');
    expect(display.lines.at(-1)).toBe('> hello');
    chat.handleKey('\r', key('return'));
    await until(display, (t) => t.includes('echo: hello'));
    chat.handleKey(undefined, key('up'));
    expect(display.lines.at(-1)).toBe('> hello');
    chat.handleKey(undefined, key('u', { ctrl: true }));
    chat.handleKey(undefined, key('paste-start'));
    type(chat, 'line one');
    chat.handleKey('\r', key('return'));
    chat.handleKey('\t', key('tab'));
    type(chat, 'line two');
    chat.handleKey(undefined, key('paste-end'));
    expect(display.lines.at(-1)).toBe('> line one↵    line two');
    chat.handleKey('\r', key('return'));
    // The reply is Markdown: its indented second line continues the paragraph.
    await until(display, (t) => t.includes('  echo: line one\n  line two'));
  });

  it('repaints at the new size on resize', async () => {
    const { display, chat } = open(60, 16);
    send(chat, 'a message long enough to wrap when the terminal becomes narrow');
    await until(display, (t) => t.includes('Enter: send') && t.includes('echo:'));
    display.size = { columns: 24, rows: 10 };
    chat.resize();
    expect(display.frames.at(-1)?.rows).toHaveLength(10);
    for (const row of display.frames.at(-1)?.rows ?? []) expect(displayWidth(row.text)).toBeLessThanOrEqual(24);
  });

  it('finishes on Ctrl-C when idle, and on Ctrl-D with an empty line', async () => {
    const first = open();
    first.chat.handleKey(undefined, key('c', { ctrl: true }));
    await first.chat.finished;
    const second = open();
    second.chat.handleKey(undefined, key('d', { ctrl: true }));
    await second.chat.finished;
  });
});

describe('full-screen chat with hybrid routing', () => {
  let gw: TestGateway & { fake: FakeLLM };
  beforeAll(async () => {
    gw = await startGatewayWithFakeModel({ ROUTING: 'hybrid' });
  });
  afterAll(() => gw.close());

  it("labels a reply the rules engine kept, and keeps the model's name in the top bar", async () => {
    const display = new RecordedDisplay({ columns: 100, rows: 20 });
    const url = new URL(gw.url);
    const chat = new FullScreenChat(terminalClient(url, gw.apiKey), url, display, { name: 'fake-gpt', provider: 'openai' });
    chat.resize();
    send(chat, 'hello');
    await until(display, (t) => t.includes('Enter: send') && /clawdbot - /.test(t));
    expect(display.lines).toContain('clawdbot - rules (hybrid routing; fake-gpt (openai) answers the rest)');
    expect(display.lines[0]).toMatch(/^ clawdbot \| fake-gpt \(openai\) \|/);

    // The model's own reply carries no label: the top bar names it.
    send(chat, 'why is the sea salty?');
    const screen = await until(display, (t) => t.includes('echo: why is the sea salty?') && t.includes('Enter: send'));
    expect(screen).toMatch(/\nclawdbot\n {2}echo: why is the sea salty\?/);
    expect(display.lines[0]).toMatch(/^ clawdbot \| fake-gpt \(openai\) \|/);
  });
});
