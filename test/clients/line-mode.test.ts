import { PassThrough } from 'node:stream';
import { terminalClient } from '../../app/src/tui/client';
import { runLineMode } from '../../app/src/tui/linemode';
import type { FakeLLM } from '../helpers/fake-llm';
import { startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

let gw: TestGateway & { fake: FakeLLM };
beforeAll(async () => {
  gw = await startGatewayWithFakeModel();
});
afterAll(() => gw.close());

/** Feeds `input` to line mode as a pipe would and collects what it writes. */
async function pipeThrough(input: string, { interactive = false, apiKey = gw.apiKey } = {}) {
  const url = new URL(gw.url);
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  stdin.end(input);
  const code = await runLineMode(terminalClient(url, apiKey), url, { input: stdin, output: stdout, errors: stderr, interactive });
  return { code, out, err };
}

describe('line mode (pipes, TERM=dumb)', () => {
  it('answers each line in order, in one session, with replies only on stdout', async () => {
    const { code, out, err } = await pipeThrough('my name is Ada\n\nwhat is my name?\n');
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toBe('echo: my name is Ada\necho: what is my name?\n');
    const history = gw.fake.completions().at(-1)?.body.messages.map((m: { content: string }) => m.content);
    expect(history).toEqual(expect.arrayContaining(['my name is Ada', 'echo: my name is Ada', 'what is my name?']));
  });

  it('runs the commands: /model, /new (a fresh session), /help, /quit', async () => {
    const { code, out } = await pipeThrough('first session\n/model\n/new\nsecond session\n/help\n/quit\nnever sent\n');
    expect(code).toBe(0);
    expect(out.split('\n').slice(0, 4)).toEqual(['echo: first session', 'Model: fake-gpt (openai)', 'New session.', 'echo: second session']);
    expect(out).toContain('/quit   leave');
    expect(out).not.toContain('never sent');
    const lastRequest = gw.fake.completions().at(-1)?.body.messages.map((m: { content: string }) => m.content);
    expect(lastRequest).not.toContain('first session');
  });

  it('reports a failed message on stderr, carries on, and exits 1', async () => {
    gw.fake.enqueue({ status: 401 });
    const { code, out, err } = await pipeThrough('this one fails\nthis one works\n');
    expect(code).toBe(1);
    expect(out).toBe('echo: this one works\n');
    expect(err).toMatch(/^clawdbot-chat: The model is not available right now/);
  });

  it('stops at once when the key is rejected', async () => {
    const { code, out, err } = await pipeThrough('one\ntwo\n', { apiKey: 'not-a-valid-key-000' });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toEqual([expect.stringMatching(/rejected CLAWDBOT_API_KEY/)]);
  });

  it('strips escape sequences from replies', async () => {
    gw.fake.enqueue({ text: 'safe\x1b]0;retitled\x07 text\x1b[2J' });
    const { out } = await pipeThrough('hi\n');
    expect(out).toBe('safe text\n');
  });

  it('greets and prompts a person on a dumb terminal', async () => {
    const { out } = await pipeThrough('hello\n', { interactive: true });
    expect(out).toBe(`Connected to ${gw.url}. /help for commands.\n> echo: hello\n> `);
  });
});
