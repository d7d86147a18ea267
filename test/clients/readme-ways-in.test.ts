// The README's "Three ways in" examples, run against a gateway: the line that finds the local
// key, the curl commands (through sh, so their quoting counts) and the OpenAI SDK for Node.
// The Python example needs Python's openai package, which this repository does not install.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FakeLLM } from '../helpers/fake-llm';
import { startGateway, startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

const REPO_ROOT = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const waysIn = readme.slice(readme.indexOf('<!-- section: ways-in -->'), readme.indexOf('<!-- /section: ways-in -->'));
const codeBlocks = [...waysIn.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, language, code]) => ({ language, code }));

/** The README block in `language` that contains `marker`. */
function example(language: string, marker: string): string {
  const block = codeBlocks.find((candidate) => candidate.language === language && candidate.code.includes(marker));
  if (!block) throw new Error(`README "Three ways in" has no ${language} block with ${marker}`);
  return block.code;
}

/** Runs a command without blocking this process, which serves the gateway it talks to. */
const run = promisify(execFile);

let gw: TestGateway & { fake: FakeLLM };
let scratch: string;
beforeAll(async () => {
  gw = await startGatewayWithFakeModel();
  scratch = mkdtempSync(path.join(tmpdir(), 'clawdbot-readme-'));
});
afterAll(async () => {
  await gw.close();
  rmSync(scratch, { recursive: true, force: true });
});

const clientEnv = () => ({ PATH: process.env.PATH, CLAWDBOT_URL: gw.url, CLAWDBOT_API_KEY: gw.apiKey });

describe("README's three ways in", () => {
  it('answers the example question as shown, from the FAQ a new gateway ships', async () => {
    const block = example('sh', 'opening hours');
    const [command, shown] = block.split('\n').filter((l) => l.includes('opening hours') || l.startsWith('# → '));
    const local = await startGateway();
    try {
      const env = { PATH: process.env.PATH, CLAWDBOT_URL: local.url, CLAWDBOT_API_KEY: local.apiKey };
      const { stdout } = await run('sh', ['-c', command.replace(/#.*$/, '')], { cwd: REPO_ROOT, env });
      expect(`# → ${stdout}`).toBe(`${shown}\n`);
    } finally {
      await local.close();
    }
  }, 60_000);

  it('sets CLAWDBOT_URL and CLAWDBOT_API_KEY next to npm start from the generated key', async () => {
    const line = example('sh', 'export CLAWDBOT_URL').split('\n').find((l) => l.includes('data/secrets/api-key')) ?? '';
    mkdirSync(path.join(scratch, 'data', 'secrets'), { recursive: true });
    writeFileSync(path.join(scratch, 'data', 'secrets', 'api-key'), 'generated-key-0123456789\n');
    const result = await run('sh', ['-c', `${line}\nprintf '%s %s' "$CLAWDBOT_URL" "$CLAWDBOT_API_KEY"`], { cwd: scratch, env: { PATH: process.env.PATH } });
    expect(result).toEqual({ stdout: 'http://localhost:18789 generated-key-0123456789', stderr: '' });
  });

  it('gives curl commands the gateway answers', async () => {
    // sh runs the block with curl replaced by a function that prints its arguments, one
    // command per line, each argument ended by a NUL; they are then sent with fetch.
    const recordCurl = `curl() { printf '%s\\0' "$@"; printf '\\n'; }\n`;
    const printed = await run('sh', ['-c', recordCurl + example('sh', 'curl ')], { cwd: scratch, env: clientEnv() });
    expect(printed.stderr).toBe('');
    const commands = printed.stdout.split('\n').filter(Boolean).map((line) => line.split('\0').slice(0, -1));
    expect(commands).toHaveLength(2);

    const answers: unknown[] = [];
    for (const args of commands) {
      const headers: Record<string, string> = {};
      let url = '';
      let body: string | undefined;
      for (let index = 0; index < args.length; index += 1) {
        if (args[index] === '-s') continue;
        if (args[index] === '-H') {
          const [name, ...value] = args[++index].split(':');
          headers[name] = value.join(':').trim();
        } else if (args[index] === '-d') body = args[++index];
        else url = args[index];
      }
      // curl -d means POST.
      const response = await fetch(url, { method: body === undefined ? 'GET' : 'POST', headers, body });
      expect([url, response.status]).toEqual([url, 200]);
      answers.push(await response.json());
    }
    expect(answers).toEqual([
      expect.objectContaining({ object: 'chat.completion', choices: [expect.objectContaining({ message: { role: 'assistant', content: 'echo: hello', refusal: null } })] }),
      { sessionId: expect.any(String), reply: 'echo: hello', model: { provider: 'openai', name: 'fake-gpt' } },
    ]);
  });

  it('gives an OpenAI SDK example for Node that streams the reply, saved and run as it says', async () => {
    const code = example('js', "from 'openai'");
    const [, file, command] = /^\/\/ (\S+): .* Run: (.+)$/m.exec(code) ?? [];
    expect(command).toBe(`node ${file}`);
    // Saved under the repository, where `openai` resolves (the app depends on it).
    const dir = mkdtempSync(path.join(REPO_ROOT, 'node_modules', '.readme-'));
    try {
      writeFileSync(path.join(dir, file), code);
      const result = await run('sh', ['-c', command], { cwd: dir, env: clientEnv() });
      expect(result).toEqual({ stdout: 'echo: hello', stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
