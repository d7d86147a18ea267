import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DATA_LAYOUT } from '../../app/src/contract';
import { startFakeOpenAI } from '../helpers/fake-llm';
import { buildApp, spawnGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';

const REPO_ROOT = path.resolve(__dirname, '../..');

// Each test starts a real Node process (about 2 s on a busy 2-core machine).
jest.setTimeout(30_000);

/** Runs the built gateway expecting it to refuse to start; returns its exit code and output. */
function failedStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['app/dist/main.js'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', PORT: '0', METRICS_PORT: '0', ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const portInUse = (port: string) =>
  `clawdbot gateway failed to start: port ${port} on 127.0.0.1 is already in use (EADDRINUSE): stop what runs there (another npm start?) or set PORT to a free port`;

/**
 * Runs the built gateway with a pseudo-terminal as its stdout (script(1)), as `npm start` in a
 * terminal has; stops it once it printed `until`, else waits for it to exit. Returns what it printed.
 */
function startInTerminal(env: Record<string, string>, until?: string): Promise<{ output: string }> {
  const child = spawn('script', ['-qec', `${process.execPath} app/dist/main.js`, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', METRICS_PORT: '0', TERM: 'dumb', ...env },
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => {
    output += data.toString();
    if (until && output.includes(until)) child.kill('SIGTERM');
  });
  return new Promise((resolve) => child.once('close', () => resolve({ output: output.replace(/\r\n/g, '\n') })));
}

describe('the gateway process (node app/dist/main.js, as npm start runs it)', () => {
  beforeAll(() => buildApp(), 120_000);

  it('generates an API key and an admin token on first start, says where they are, never what', async () => {
    const gw = await spawnGateway();
    try {
      const keyFile = path.join(gw.dataDir, DATA_LAYOUT.generatedApiKey);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(gw.dataDir, DATA_LAYOUT.generatedAdminToken)).mode & 0o777).toBe(0o600);
      expect(gw.output()).toContain(keyFile);
      expect(gw.output()).not.toContain(gw.apiKey);
      expect(gw.output()).not.toContain(gw.adminToken);
      expect(fs.existsSync(path.join(gw.dataDir, DATA_LAYOUT.faq))).toBe(true);
      // No channel, nothing to warn about.
      expect(gw.output()).not.toContain('in-memory store');

      const answer = await postJson(`${gw.url}/api/chat`, { message: 'hello' }, gw.apiKey);
      expect(answer.status).toBe(200);
      expect((await fetch(gw.metricsUrl)).status).toBe(200);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });

  it('on SIGTERM stops accepting, finishes the request in flight, flushes its logs and exits 0', async () => {
    const fake = await startFakeOpenAI({ reply: () => ({ text: 'worth the wait', delayMs: 1500 }) });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-sigterm-'));
    const gw = await spawnGateway({ CLAWDBOT_DATA_DIR: dataDir, MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: 'sk-sigterm-0123456789abcdef', ROUTING: 'llm' });
    try {
      const inFlight = postJson(`${gw.url}/api/chat`, { sessionId: 'slow', message: 'take your time' }, gw.apiKey);
      while (fake.completions().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const exited = gw.stop('SIGTERM');

      const response = await inFlight;
      expect(response.status).toBe(200);
      expect((await response.json()).reply).toBe('worth the wait');
      expect(await exited).toBe(0);
      await expect(fetch(`${gw.url}/health`)).rejects.toThrow();

      const access = fs.readFileSync(path.join(dataDir, 'logs', 'access.log'), 'utf8');
      expect(access).toContain('"route":"/api/chat"');
      const conversations = fs.readdirSync(path.join(dataDir, DATA_LAYOUT.conversations));
      expect(fs.readFileSync(path.join(dataDir, DATA_LAYOUT.conversations, conversations[0]), 'utf8')).toContain('worth the wait');
      expect(gw.output()).toMatch(/SIGTERM: no new requests/);
    } finally {
      await gw.stop();
      await fake.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM closes a request still running when the grace period (10 s) ends, and exits 0', async () => {
    const fake = await startFakeOpenAI({ reply: () => ({ hang: true }) });
    const gw = await spawnGateway({ MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: 'sk-hang-0123456789abcdef', ROUTING: 'llm' });
    try {
      const stuck = postJson(`${gw.url}/api/chat`, { sessionId: 'stuck', message: 'this never gets an answer' }, gw.apiKey);
      while (fake.completions().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const exited = gw.stop('SIGTERM');
      // The model never answers: the grace period ends, the connection is closed under the client.
      await expect(stuck).rejects.toThrow();
      expect(await exited).toBe(0);
      expect(gw.output()).toMatch(/"msg":"stopped"/);
    } finally {
      await gw.stop();
      await fake.close();
    }
  });

  it('serves metrics on 127.0.0.1 only by default, never on the public port', async () => {
    const gw = await spawnGateway({ HOST: '0.0.0.0' });
    try {
      const metricsUrl = new URL(gw.metricsUrl);
      expect(metricsUrl.hostname).toBe('127.0.0.1');
      expect((await fetch(metricsUrl)).status).toBe(200);
      // All of 127/8 is loopback: the public port (0.0.0.0) answers on 127.0.0.2, the metrics
      // port (bound to 127.0.0.1 alone) does not.
      const publicPort = new URL(gw.url).port;
      expect((await fetch(`http://127.0.0.2:${publicPort}/health`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.2:${metricsUrl.port}/metrics`)).rejects.toThrow();
      expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    } finally {
      await gw.stop();
    }
  });

  it('refuses a bad setting, naming the variable, with exit code 1', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-badenv-'));
    try {
      const { code, output } = await failedStart({ CLAWDBOT_DATA_DIR: dataDir, MODEL_PROVIDER: 'gemini' });
      expect(code).toBe(1);
      expect(output).toMatch(/invalid setting MODEL_PROVIDER: /);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails to start on a port in use with exit code 1, its logs flushed and closed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-portinuse-'));
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as net.AddressInfo).port);
      const { code, output } = await failedStart({ CLAWDBOT_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: port });
      expect(code).toBe(1);
      // One line naming the port and the variable to change, no stack trace.
      const failure = JSON.parse(output.trim().split('\n').at(-1) ?? '');
      expect(failure).toEqual({ level: 60, time: expect.any(Number), msg: portInUse(port) });
      // A person at a terminal gets that line alone, as text.
      const { output: seen } = await startInTerminal({ CLAWDBOT_DATA_DIR: dataDir, PORT: port });
      expect(seen).toBe(`${portInUse(port)}\n`);
      const errors = fs.readFileSync(path.join(dataDir, 'logs', 'error.log'), 'utf8');
      expect(errors).toMatch(/"msg":"failed to start"/);
      expect(errors).toContain('EADDRINUSE');
      expect(errors + output).not.toMatch(/sonic boom|uncaught/i);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('tells a person at a terminal where to go: the page, the key, npm run chat, the docs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-tty-'));
    try {
      const { output } = await startInTerminal({ CLAWDBOT_DATA_DIR: dataDir, PORT: '28789' }, 'Ctrl-C stops');
      const lines = output.split('\n');
      expect(lines[0]).toBe('clawdbot is running: the built-in rules engine');
      expect(lines).toEqual(
        expect.arrayContaining([
          '  Chat in the browser   http://127.0.0.1:28789/',
          `  API key               cat ${path.join(dataDir, DATA_LAYOUT.generatedApiKey)}`,
          '  Chat in a terminal    PORT=28789 npm run chat',
        ]),
      );
      // The info lines are for logs and pipes: no JSON before or in the block.
      expect(output).not.toContain('{"level"');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a broken faq.json, naming the file and the entry', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-badfaq-'));
    try {
      fs.writeFileSync(path.join(dataDir, 'faq.json'), JSON.stringify([{ question: 'q' }]));
      const { code, output } = await failedStart({ CLAWDBOT_DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(output).toContain(`${path.join(dataDir, 'faq.json')}: [0].answer`);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
