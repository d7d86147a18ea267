/**
 * Gateways for tests, on 127.0.0.1 with free ports and a temporary data dir.
 *
 *   const gw = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_API_KEY: 'k', MODEL_ENDPOINT: fake.url });
 *   await fetch(`${gw.url}/api/chat`, { headers: { authorization: `Bearer ${gw.apiKey}` }, ... });
 *   await gw.close();
 *
 * startGateway runs in-process (fast; `deps` gives the store, model manager, logs...).
 * spawnGateway runs the built gateway (`node app/dist/main.js`, as `npm start` does) as a
 * child process, for signals, start-up output and exit codes; it builds app/dist first when
 * a source changed (tsc takes ~15 s), so give the beforeAll that calls it a 120 s timeout.
 * `env` is the gateway's whole environment (process.env is not read); pass
 * CLAWDBOT_DATA_DIR to keep a data dir across restarts (it is then not deleted on close).
 * `netns` (a /run/netns/<name> path) starts it inside that network namespace with nsenter;
 * pass HOST (its address there) too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { loadSettings } from '../../app/src/lib/config';
import { DATA_LAYOUT } from '../../app/src/contract';
import { startMetricsServer } from '../../app/src/observability/metrics-server';
import { buildGateway } from '../../app/src/server';
import { createDeps, type RunningDeps } from '../../app/src/startup';

const REPO_ROOT = path.resolve(__dirname, '../..');
const MAIN_JS = path.join(REPO_ROOT, 'app/dist/main.js');

export interface TestGateway {
  /** http://127.0.0.1:<port> */
  url: string;
  /** http://127.0.0.1:<port>/metrics (the separate metrics listener) */
  metricsUrl: string;
  apiKey: string;
  adminToken: string;
  dataDir: string;
  deps: RunningDeps;
  app: FastifyInstance;
  /** Flushes the logs, then returns `<data dir>/logs/<file>` (e.g. 'audit.log'); '' if never written. */
  readLog(file: string): Promise<string>;
  /** Stops the gateway and flushes its files; the temporary data dir goes too. Idempotent. */
  close(): Promise<void>;
}

function dataDirFor(env: Record<string, string>): { dataDir: string; temporary: boolean } {
  if (env.CLAWDBOT_DATA_DIR) return { dataDir: env.CLAWDBOT_DATA_DIR, temporary: false };
  return { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-test-')), temporary: true };
}

function readFileOrEmpty(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

/** An in-process gateway: buildGateway + createDeps, listening on 127.0.0.1:0. */
export async function startGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const { dataDir, temporary } = dataDirFor(env);
  let deps: RunningDeps | undefined;
  let app: FastifyInstance | undefined;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    const settings = loadSettings({ ...env, CLAWDBOT_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0' });
    deps = await createDeps(settings);
    app = await buildGateway(deps);
    await app.listen({ host: '127.0.0.1', port: 0 });
    metrics = await startMetricsServer(deps.registry, '127.0.0.1', 0);
  } catch (error) {
    await app?.close();
    await deps?.close();
    if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metrics.url,
    apiKey: (deps.settings.apiKeys as string[])[0],
    adminToken: deps.settings.adminToken as string,
    dataDir,
    deps,
    app,
    async readLog(file) {
      await deps.logs.flush();
      return readFileOrEmpty(path.join(dataDir, DATA_LAYOUT.logs, file));
    },
    close() {
      closing ??= (async () => {
        await app.close();
        await metrics.close();
        await deps.close();
        if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

export interface SpawnedGateway {
  url: string;
  metricsUrl: string;
  apiKey: string;
  adminToken: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends the signal (SIGTERM by default) and resolves with the exit code once it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

// scripts/build-if-stale.js is plain JavaScript (it runs before there is a build): typed here.
const { buildIfStale } = require('../../scripts/build-if-stale.js') as { buildIfStale(): boolean };

/** Builds app/dist with tsc when a source changed since the last build, as `npm start` does. */
export function buildApp(): void {
  buildIfStale();
}

function parseJsonLine(line: string): { url?: string; metricsUrl?: string } | undefined {
  try {
    return JSON.parse(line) as { url?: string; metricsUrl?: string };
  } catch {
    return undefined;
  }
}

/** Runs `node app/dist/main.js`, waits for its "listening" line and a 200 from /health. */
export async function spawnGateway(env: Record<string, string> = {}, options: { netns?: string } = {}): Promise<SpawnedGateway> {
  buildApp();
  const { dataDir, temporary } = dataDirFor(env);
  // nsenter execs node in place (no --fork), so the child's pid is the gateway's and signals reach it.
  const [file, args] = options.netns ? ['nsenter', [`--net=${options.netns}`, process.execPath, MAIN_JS]] : [process.execPath, [MAIN_JS]];
  const child = spawn(file, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', ...env, CLAWDBOT_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<{ url: string; metricsUrl: string }>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const complete = output.split('\n').slice(0, -1);
      for (const line of complete) {
        const entry = parseJsonLine(line);
        if (entry?.url && entry.metricsUrl) resolve({ url: entry.url, metricsUrl: entry.metricsUrl });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before listening:\n${output}`)));
  });
  let url: string;
  let metricsUrl: string;
  try {
    ({ url, metricsUrl } = await listening);
    const health = await fetch(`${url}/health`);
    if (health.status !== 200) throw new Error(`/health answered ${health.status}`);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const secret = (relative: string) => fs.readFileSync(path.join(dataDir, relative), 'utf8').trim();
  return {
    url,
    metricsUrl,
    apiKey: env.CLAWDBOT_API_KEYS?.split(',')[0].trim() ?? secret(DATA_LAYOUT.generatedApiKey),
    adminToken: env.CLAWDBOT_ADMIN_TOKEN ?? secret(DATA_LAYOUT.generatedAdminToken),
    dataDir,
    child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

// Imported here rather than at the top so that this helper was one append to a shared file.
import { startFakeOpenAI, type FakeLLM } from './fake-llm';

/**
 * The gateway the people's clients are tested against: in-process, its model a fake
 * OpenAI-compatible server (`fake-gpt`, ROUTING=llm so that every message reaches it).
 * `env` adds or overrides settings. `fake` queues replies and records requests; close()
 * stops both.
 */
export async function startGatewayWithFakeModel(env: Record<string, string> = {}): Promise<TestGateway & { fake: FakeLLM }> {
  const fake = await startFakeOpenAI();
  let gateway: TestGateway;
  try {
    gateway = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_API_KEY: 'fake-provider-key', MODEL_ENDPOINT: fake.url, MODEL_NAME: 'fake-gpt', ROUTING: 'llm', ...env });
  } catch (error) {
    await fake.close();
    throw error;
  }
  return {
    ...gateway,
    fake,
    async close() {
      await gateway.close();
      await fake.close();
    },
  };
}
