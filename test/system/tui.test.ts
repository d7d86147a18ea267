// The terminal chat as a person uses it: the built CLI (app/dist/cli/chat.js) under tmux
// (send-keys, capture-pane) and through pipes, against an in-process gateway whose model is
// a fake OpenAI-compatible server.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { displayWidth } from '../../app/src/tui/text';
import type { FakeLLM } from '../helpers/fake-llm';
import { STARTER_FAQ } from '../../app/src/models/rules';
import { buildApp, spawnGateway, startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

jest.setTimeout(60_000);

const REPO_ROOT = path.resolve(__dirname, '../..');
const CHAT_JS = path.join(REPO_ROOT, 'app/dist/cli/chat.js');
const COLUMNS = 100;
const ROWS = 30;

let gw: TestGateway & { fake: FakeLLM };
let scratch: string;

/** What a terminal shows when escape sequences leak as text, or bytes are cut mid-character. */
function garbageIn(screen: string): string[] {
  const found: string[] = [...(screen.match(/\x1b|\uFFFD|\^\[|\[\??[0-9;]+[A-Za-z]|\(B/g) ?? [])];
  for (const line of screen.split('\n')) if (displayWidth(line) > COLUMNS) found.push(`too wide: ${line}`);
  return found;
}

/** The pid of the one child process of `parent` (from /proc: no procps needed). */
function childOf(parent: number): number {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // Fields after the parenthesised command name: state, then the parent pid.
        return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === parent;
      } catch {
        return false; // exited meanwhile
      }
    });
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

/**
 * Runs a command to its end without blocking this process, which also serves the gateway
 * the command talks to.
 */
function run(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string }) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** One tmux server on its own socket, with the chat in a session named "chat". */
class Tmux {
  // A socket in the test's scratch dir: removed with it, never touching anyone's tmux.
  private readonly socket = path.join(scratch, `tmux-${Math.random().toString(36).slice(2, 8)}`);
  private readonly env: NodeJS.ProcessEnv;

  constructor(clientEnv: Record<string, string>) {
    const { TMUX: _inside, ...env } = process.env;
    this.env = { ...env, ...clientEnv };
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { env: this.env, encoding: 'utf8' });
  }

  /** Starts `command` in a 100x30 pane that stays (dead) after the command exits. */
  start(command: string): void {
    const config = `${this.socket}.conf`;
    writeFileSync(config, 'set -g remain-on-exit on\nset -g status off\n');
    this.tmux('-f', config, 'new-session', '-d', '-s', 'chat', '-x', String(COLUMNS), '-y', String(ROWS), '-c', REPO_ROOT, command);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 'chat').replace(/\n$/, '');
  }

  lines(): string[] {
    return this.screen().split('\n');
  }

  /** Types a line (literally: no key names) and presses Enter. */
  send(text: string): void {
    this.tmux('send-keys', '-t', 'chat', '-l', text);
    this.press('Enter');
  }

  press(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'chat', ...keys);
  }

  format(variable: string): string {
    return this.tmux('display-message', '-p', '-t', 'chat', `#{${variable}}`).trim();
  }

  async until(predicate: (screen: string) => boolean): Promise<string> {
    for (let attempt = 0; attempt < 150; attempt += 1) {
      const screen = this.screen();
      if (predicate(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the pane never showed what was expected; it shows:\n${this.screen()}`);
  }

  kill(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], { env: this.env });
  }
}

beforeAll(async () => {
  buildApp();
  scratch = mkdtempSync(path.join(tmpdir(), 'clawdbot-tui-'));
  gw = await startGatewayWithFakeModel();
});

afterAll(async () => {
  await gw?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('terminal chat, full screen under tmux', () => {
  let tmux: Tmux;
  afterEach(() => tmux.kill());

  function startChat(term: string, extraEnv = ''): void {
    tmux = new Tmux({ CLAWDBOT_URL: gw.url, CLAWDBOT_API_KEY: gw.apiKey });
    tmux.start(`exec env TERM=${term} ${extraEnv} node ${CHAT_JS}`);
  }

  it('draws cleanly for a TERM that has no terminfo, and streams a Chinese conversation', async () => {
    // An unknown TERM and an empty terminfo database: where terminfo-driven UIs print garbage.
    const emptyTerminfo = mkdtempSync(path.join(scratch, 'terminfo-'));
    startChat('xterm-unknown', `TERMINFO=${emptyTerminfo} TERMINFO_DIRS=${emptyTerminfo}`);
    let screen = await tmux.until((s) => s.includes('Enter: send'));
    expect(tmux.format('alternate_on')).toBe('1');
    let lines = tmux.lines();
    expect(lines).toHaveLength(ROWS);
    expect(lines[0]).toBe(` clawdbot | fake-gpt (openai) | new session | ${new URL(gw.url).host}`);
    expect(lines[ROWS - 2]).toBe(' Enter: send | /help | PgUp/PgDn: scroll | Ctrl-C: quit');
    expect(lines[ROWS - 1]).toBe('>');

    gw.fake.enqueue({ text: '你好！ 我是 机器人， 正在 慢慢 回答。', stallAfterChunks: 2 });
    tmux.send('你好，请介绍一下你自己');
    screen = await tmux.until((s) => s.includes('你好！ 我是') && s.includes('Replying... Esc or Ctrl-C: stop'));
    expect(screen).not.toContain('机器人');
    tmux.press('Escape');
    screen = await tmux.until((s) => s.includes('你好！ 我是 [stopped]'));

    tmux.send('用中文写一个很长的句子，看看换行是否正确，而且宽字符不会破坏整个屏幕的布局，也不会出现乱码。');
    screen = await tmux.until((s) => s.includes('Enter: send') && s.includes('乱码。') && (s.match(/echo:/g) ?? []).length === 1);
    expect(garbageIn(screen)).toEqual([]);
    lines = tmux.lines();
    expect(lines[0]).toMatch(/^ clawdbot \| fake-gpt \(openai\) \| session [0-9a-f]{8} \| /);
    expect(lines).toEqual(
      expect.arrayContaining([
        'You',
        '  你好，请介绍一下你自己',
        'clawdbot',
        '  你好！ 我是 [stopped]',
        expect.stringMatching(/^ {2}echo: 用中文写一个很长的句子/),
      ]),
    );
  });

  it('renders a Markdown reply for the terminal, escape sequences in it still removed', async () => {
    startChat('xterm-256color');
    await tmux.until((s) => s.includes('Enter: send'));
    gw.fake.enqueue({
      text: '## Steps\n\n1. Install **it**\n2. Run `npm start`\n\n- a point\n\n```sh\necho "\x1b[31mred\x1b]0;title\x07"\n```\n\nDone.',
    });
    tmux.send('how do I start?');
    const screen = await tmux.until((s) => s.includes('Done.') && s.includes('Enter: send'));
    expect(garbageIn(screen)).toEqual([]);
    expect(tmux.lines()).toEqual(
      expect.arrayContaining(['  Steps', '  1. Install it', '  2. Run `npm start`', '  - a point', '  --- sh ---', '    echo "red"', '  Done.']),
    );
    expect(screen).not.toMatch(/##|\*\*|```/);
    expect(tmux.format('pane_title')).not.toBe('title');
    tmux.kill();
  });

  it('draws the same screen for an unknown TERM as for xterm-256color', async () => {
    const screens: string[] = [];
    for (const term of ['xterm-256color', 'xterm-unknown']) {
      startChat(term);
      await tmux.until((s) => s.includes('Enter: send'));
      tmux.send('same screen');
      screens.push(await tmux.until((s) => s.includes('echo: same screen') && s.includes('Enter: send')));
      tmux.kill();
    }
    const withoutSession = (screen: string) => screen.replace(/session [0-9a-f]{8}/, 'session ########');
    expect(withoutSession(screens[1])).toBe(withoutSession(screens[0]));
  });

  it('runs /model, /help and /new', async () => {
    startChat('xterm-unknown');
    await tmux.until((s) => s.includes('Enter: send'));
    tmux.send('remember this');
    await tmux.until((s) => s.includes('echo: remember this'));
    tmux.send('/model');
    await tmux.until((s) => s.includes('Model: fake-gpt (openai)'));
    tmux.send('/help');
    await tmux.until((s) => s.includes('/new    start a new session'));
    tmux.send('/new');
    const screen = await tmux.until((s) => s.includes('New session'));
    expect(screen).not.toContain('remember this');
    expect(tmux.lines()[0]).toContain('| new session |');
  });

  it('repaints to fit when the terminal is resized', async () => {
    startChat('xterm-unknown');
    await tmux.until((s) => s.includes('Enter: send'));
    tmux.send('a message that will have to wrap once the window becomes narrow 窄窗口');
    await tmux.until((s) => s.includes('窄窗口') && s.includes('echo:') && s.includes('Enter: send'));
    tmux.tmux('resize-window', '-t', 'chat', '-x', '40', '-y', '12');
    // Until the repaint is complete: tmux may show the pane between the resize and the last row drawn.
    const screen = await tmux.until((s) => {
      const rows = s.split('\n');
      return rows.length === 12 && rows[0].startsWith(' clawdbot | fake-gpt') && rows[10].startsWith(' Enter: send') && rows[11] === '>';
    });
    expect(garbageIn(screen)).toEqual([]);
    for (const line of screen.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(40);
  });

  it('restores the terminal on /quit, Ctrl-C, SIGINT, SIGTERM and SIGHUP (a dropped SSH session)', async () => {
    for (const leave of ['/quit', 'C-c', 'SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      tmux = new Tmux({ CLAWDBOT_URL: gw.url, CLAWDBOT_API_KEY: gw.apiKey });
      // The shell stays after the chat, to show the exit code and whether the tty is back in
      // canonical (cooked) mode: stty prints "icanon", or "-icanon" if raw mode was left on.
      tmux.start(`env TERM=xterm-unknown node ${CHAT_JS}; echo "exit=$?"; stty -a | grep -o -- "-*icanon"; exec sleep 60`);
      await tmux.until((s) => s.includes('Enter: send'));
      expect(tmux.format('alternate_on')).toBe('1');
      if (leave === '/quit') {
        tmux.send('/quit');
      } else if (leave === 'C-c') {
        tmux.press('C-c');
      } else {
        process.kill(childOf(Number(tmux.format('pane_pid'))), leave);
      }
      const screen = await tmux.until((s) => /icanon/.test(s));
      const exitCode = leave === '/quit' || leave === 'C-c' ? 0 : 128 + constants.signals[leave];
      expect([leave, screen.split('\n').filter(Boolean)]).toEqual([leave, [`exit=${exitCode}`, 'icanon']]);
      expect([leave, tmux.format('alternate_on'), tmux.format('cursor_flag')]).toEqual([leave, '0', '1']);
      tmux.kill();
    }
  });

  it('falls back to plain lines on TERM=dumb', async () => {
    startChat('dumb');
    await tmux.until((s) => s.includes('/help for commands.'));
    tmux.send('hello dumb terminal');
    const screen = await tmux.until((s) => s.includes('echo: hello dumb terminal'));
    expect(tmux.format('alternate_on')).toBe('0');
    expect(garbageIn(screen)).toEqual([]);
    expect(screen.split('\n').filter(Boolean)).toEqual([
      `Connected to ${gw.url}. /help for commands.`,
      '> hello dumb terminal',
      'echo: hello dumb terminal',
      '>',
    ]);
  });
});

describe('terminal chat through a pipe', () => {
  const env = () => {
    const { TMUX: _inside, ...rest } = process.env;
    return { ...rest, CLAWDBOT_URL: gw.url, CLAWDBOT_API_KEY: gw.apiKey, TERM: 'xterm-256color' };
  };

  it('answers each line read from stdin, in one session, as plain text', async () => {
    const result = await run(process.execPath, [CHAT_JS], { env: env(), input: 'my name is Lin\nwhat is my name?\n/model\n' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('echo: my name is Lin\necho: what is my name?\nModel: fake-gpt (openai)\n');
    const seen = gw.fake.completions().at(-1)?.body.messages.map((m: { content: string }) => m.content);
    expect(seen).toEqual(expect.arrayContaining(['my name is Lin', 'what is my name?']));
  });

  it('needs no settings next to a gateway started as `npm start` does (rules model, generated key)', async () => {
    // The gateway's data dir is ./data of the chat's working directory, as in a clone.
    const clone = path.join(scratch, 'clone');
    const local = await spawnGateway({ CLAWDBOT_DATA_DIR: path.join(clone, 'data') });
    try {
      const { CLAWDBOT_API_KEY: _key, ...withoutKey } = env();
      const result = await run(process.execPath, [CHAT_JS], { cwd: clone, env: { ...withoutKey, CLAWDBOT_URL: local.url }, input: 'What is clawdbot?\n/model\n' });
      expect(result).toEqual({ status: 0, stdout: `${STARTER_FAQ[0].answer}\nModel: rules\n`, stderr: '' });
    } finally {
      await local.stop();
    }
  });

  it('works as `echo hi | npm run chat` and as the image entry app/bin/clawdbot-chat', async () => {
    const viaNpm = await run('sh', ['-c', 'echo "hi from npm" | npm run --silent chat'], { cwd: REPO_ROOT, env: env() });
    expect([viaNpm.status, viaNpm.stdout]).toEqual([0, 'echo: hi from npm\n']);
    const viaBin = await run('sh', ['-c', 'echo "hi from the bin" | app/bin/clawdbot-chat | cat'], { cwd: REPO_ROOT, env: env() });
    expect([viaBin.status, viaBin.stdout]).toEqual([0, 'echo: hi from the bin\n']);
  });

  it('names the variable to fix when the key is missing or wrong', async () => {
    const { CLAWDBOT_API_KEY: _key, ...withoutKey } = env();
    const missing = await run(process.execPath, [CHAT_JS], { cwd: scratch, env: withoutKey, input: 'hi\n' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^clawdbot-chat: CLAWDBOT_API_KEY: not set/);
    const wrong = await run(process.execPath, [CHAT_JS], { env: { ...env(), CLAWDBOT_API_KEY: 'wrong-key-0123456789' }, input: 'hi\n' });
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/^clawdbot-chat: The gateway rejected CLAWDBOT_API_KEY\. /);
  });
});
