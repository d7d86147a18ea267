import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runModelctl } from '../../app/src/cli/modelctl';
import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { buildApp, startGateway, type TestGateway } from '../helpers/gateway';

const KEY = 'sk-modelctl-stdin-key-0123456789';

async function modelctl(argv: string[], env: NodeJS.ProcessEnv, stdin = '') {
  let out = '';
  let err = '';
  const code = await runModelctl(argv, env, { out: (t) => (out += t), err: (t) => (err += t), readStdin: async () => stdin });
  return { code, out, err };
}

describe('modelctl', () => {
  let fake: FakeLLM;
  let gw: TestGateway;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway();
    env = { CLAWDBOT_URL: gw.url, CLAWDBOT_ADMIN_TOKEN: gw.adminToken };
  });
  beforeAll(() => buildApp(), 120_000);
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('shows the current model', async () => {
    const result = await modelctl(['status'], env);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/^model: +rules\/rules$/m);
  });

  it('finds the generated admin token in the data dir when CLAWDBOT_ADMIN_TOKEN is unset', async () => {
    const result = await modelctl(['status'], { CLAWDBOT_URL: gw.url, CLAWDBOT_DATA_DIR: gw.dataDir });
    expect(result.code).toBe(0);
  });

  it('says where it looked when there is neither CLAWDBOT_ADMIN_TOKEN nor a generated token', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-notoken-'));
    try {
      const result = await modelctl(['status'], { CLAWDBOT_URL: gw.url, CLAWDBOT_DATA_DIR: empty });
      expect(result.code).toBe(2);
      expect(result.err).toContain(`set CLAWDBOT_ADMIN_TOKEN (no generated token in ${path.join(empty, 'secrets', 'admin-token')})`);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('switches with the key read from stdin, keeping it out of the command line', async () => {
    const result = await modelctl(['switch', '--name', 'deepseek-chat', '--endpoint', fake.url, '--api-key', '-'], env, `${KEY}\n`);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^switched in \d+ ms$/m);
    // Hybrid routing (the default) keeps the simple messages on the rules engine: said at once.
    expect(result.out).toContain('routing:      hybrid: greetings, help, the time and questions in faq.json stay on the rules engine;');
    expect(result.out).toMatch(new RegExp(`^model: +openai/deepseek-chat at ${fake.url}$`, 'm'));
    expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(result.out).not.toContain(KEY);
  });

  it('reports what the gateway refused, with exit code 1', async () => {
    const result = await modelctl(['switch', '--name', 'x', '--endpoint', 'ftp://nope'], env);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^modelctl: 400: endpoint: /);
  });

  it('says so when the token is wrong or the gateway is unreachable', async () => {
    expect(await modelctl(['status'], { ...env, CLAWDBOT_ADMIN_TOKEN: 'not-the-admin-token' })).toMatchObject({ code: 1, err: expect.stringMatching(/401/) });
    expect(await modelctl(['status'], { ...env, CLAWDBOT_URL: 'http://127.0.0.1:1' })).toMatchObject({ code: 1, err: expect.stringMatching(/cannot reach the gateway/) });
  });

  it.each([[[]], [['restart']], [['switch']], [['status', '--name', 'x']], [['switch', '--name', 'x', '--bogus']]])(
    'prints usage with exit code 2 for %j',
    async (argv) => {
      const result = await modelctl(argv, env);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/usage:/);
    },
  );

  it('runs as app/bin/modelctl (the command in the image)', async () => {
    const bin = path.resolve(__dirname, '../../app/bin/modelctl');
    const { stdout } = await promisify(execFile)(bin, ['status'], { env: { ...process.env, ...env } });
    expect(stdout).toMatch(/^model: +openai\/deepseek-chat/m);
  });
});
