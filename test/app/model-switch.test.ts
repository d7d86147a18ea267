import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DATA_LAYOUT, METRICS } from '../../app/src/contract';
import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson, readEvents } from '../helpers/http';

const SWITCH_KEY = 'sk-given-at-switch-time-0123456789';
const CONFIGURED_KEY = 'sk-configured-in-env-0123456789ab';

const admin = (gw: TestGateway, method: 'GET' | 'PUT', body?: unknown, token = gw.adminToken) =>
  fetch(`${gw.url}/admin/model`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

const ask = async (gw: TestGateway, message: string) => {
  const response = await postJson(`${gw.url}/api/chat`, { message }, gw.apiKey);
  return { status: response.status, body: await response.json() };
};

describe('admin model API and hot switch', () => {
  let fake: FakeLLM;
  let dataDir: string;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: (r) => `fake answers: ${r.body.messages.at(-1).content}` });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-switch-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('refuses admin requests without the admin token, and audits them', async () => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      for (const token of ['', 'wrong-token-wrong-token', gw.apiKey]) {
        const response = await admin(gw, 'GET', undefined, token);
        expect(response.status).toBe(401);
        expect((await response.json()).error.code).toBe('invalid_admin_token');
      }
      const audit = (await gw.readLog('audit.log')).trim().split('\n').map((line) => JSON.parse(line));
      expect(audit.filter((e) => e.event === 'admin_denied')).toHaveLength(3);
      expect(JSON.stringify(audit)).not.toContain(gw.apiKey);
    } finally {
      await gw.close();
    }
  });

  it('switches from the rules engine to a provider given with a key, without a restart', async () => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      expect((await admin(gw, 'GET')).status).toBe(200);
      expect((await ask(gw, 'tell me a story')).body.model).toEqual({ provider: 'rules', name: 'rules' });

      const response = await admin(gw, 'PUT', { provider: 'openai', name: 'deepseek-chat', endpoint: fake.url, apiKey: SWITCH_KEY });
      expect(response.status).toBe(200);
      const status = await response.json();
      expect(status.model).toEqual({ provider: 'openai', name: 'deepseek-chat', endpoint: fake.url });
      expect(status.switchedBy).toBe('admin@127.0.0.1');
      expect(status.durationMs).toEqual(expect.any(Number));

      const answer = await ask(gw, 'tell me a story');
      expect(answer.body).toMatchObject({ reply: 'fake answers: tell me a story', model: { provider: 'openai', name: 'deepseek-chat' } });
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${SWITCH_KEY}`);

      // The model and its key are one file in secrets/ (0600, left out of backups).
      const stateFile = path.join(dataDir, DATA_LAYOUT.modelSwitch);
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
      expect(state).toMatchObject({ provider: 'openai', name: 'deepseek-chat', keySource: 'switch', apiKey: SWITCH_KEY });
      expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);

      const audit = (await gw.readLog('audit.log')).trim().split('\n').map((line) => JSON.parse(line));
      expect(audit.find((e) => e.event === 'model_switch')).toMatchObject({
        outcome: 'ok',
        actor: 'admin@127.0.0.1',
        from: { provider: 'rules', name: 'rules' },
        to: { provider: 'openai', name: 'deepseek-chat' },
        keySource: 'switch',
        durationMs: expect.any(Number),
      });
      for (const file of ['audit.log', 'model_api.log', 'access.log', 'error.log']) expect(await gw.readLog(file)).not.toContain(SWITCH_KEY);

      const metrics = await (await fetch(gw.metricsUrl)).text();
      expect(metrics).toMatch(new RegExp(`^${METRICS.modelSwitchDuration}_count 1$`, 'm'));

      const models = await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gw.apiKey}` } })).json();
      expect(models.data[0]).toMatchObject({ id: 'deepseek-chat', owned_by: 'openai' });
    } finally {
      await gw.close();
    }
  });

  it('keeps the switched model and its key across a restart', async () => {
    const first = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    expect((await admin(first, 'PUT', { name: 'qwen-plus', endpoint: fake.url, apiKey: SWITCH_KEY })).status).toBe(200);
    await first.close();

    const second = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      const answer = await ask(second, 'still there?');
      expect(answer.body.model).toEqual({ provider: 'openai', name: 'qwen-plus' });
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${SWITCH_KEY}`);
    } finally {
      await second.close();
    }
  });

  it('lets the environment win when MODEL_* changed since the switch', async () => {
    const first = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    expect((await admin(first, 'PUT', { name: 'qwen-plus', endpoint: fake.url, apiKey: SWITCH_KEY })).status).toBe(200);
    await first.close();

    const second = await startGateway({ CLAWDBOT_DATA_DIR: dataDir, MODEL_PROVIDER: 'openai', MODEL_NAME: 'gpt-4o-mini', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: CONFIGURED_KEY });
    try {
      expect((await (await admin(second, 'GET')).json()).model.name).toBe('gpt-4o-mini');
      expect(fs.existsSync(path.join(dataDir, DATA_LAYOUT.modelSwitch))).toBe(false);
    } finally {
      await second.close();
    }
  });

  it('migrates a switch kept in the earlier two-file format into one 0600 file, and removes the old files', async () => {
    const legacyState = { provider: 'openai', name: 'qwen-plus', endpoint: fake.url, keySource: 'switch', switchedAt: '2025-01-01T00:00:00.000Z', switchedBy: 'admin@127.0.0.1', configured: { provider: 'rules', name: 'rules' } };
    fs.writeFileSync(path.join(dataDir, DATA_LAYOUT.legacyModelState), JSON.stringify(legacyState));
    fs.mkdirSync(path.join(dataDir, DATA_LAYOUT.secrets), { mode: 0o700 });
    fs.writeFileSync(path.join(dataDir, DATA_LAYOUT.legacyModelKey), `${SWITCH_KEY}\n`, { mode: 0o600 });

    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      expect((await ask(gw, 'migrated?')).body.model).toEqual({ provider: 'openai', name: 'qwen-plus' });
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${SWITCH_KEY}`);
      const stateFile = path.join(dataDir, DATA_LAYOUT.modelSwitch);
      expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toMatchObject({ ...legacyState, apiKey: SWITCH_KEY });
      expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);
      expect(fs.existsSync(path.join(dataDir, DATA_LAYOUT.legacyModelState))).toBe(false);
      expect(fs.existsSync(path.join(dataDir, DATA_LAYOUT.legacyModelKey))).toBe(false);
      expect(await gw.readLog('audit.log')).not.toContain(SWITCH_KEY);
    } finally {
      await gw.close();
    }
  });

  it('starts on the configured model when a data dir restored from an old backup lacks the switch-time key', async () => {
    const first = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    expect((await admin(first, 'PUT', { name: 'qwen-plus', endpoint: fake.url, apiKey: SWITCH_KEY })).status).toBe(200);
    await first.close();
    // An old backup: model.json without its key (secrets/ is never backed up).
    const { apiKey: _key, ...withoutKey } = JSON.parse(fs.readFileSync(path.join(dataDir, DATA_LAYOUT.modelSwitch), 'utf8'));
    fs.rmSync(path.join(dataDir, DATA_LAYOUT.secrets), { recursive: true });
    fs.writeFileSync(path.join(dataDir, DATA_LAYOUT.legacyModelState), JSON.stringify(withoutKey));

    const second = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      expect((await (await admin(second, 'GET')).json()).model).toEqual({ provider: 'rules', name: 'rules' });
    } finally {
      await second.close();
    }
  });

  it('uses the configured MODEL_API_KEY when the switch gives none', async () => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir, MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: CONFIGURED_KEY, ROUTING: 'llm' });
    try {
      expect((await admin(gw, 'PUT', { name: 'gpt-4.1' })).status).toBe(200);
      await ask(gw, 'which key?');
      const last = fake.completions().at(-1)!;
      expect(last.body.model).toBe('gpt-4.1');
      expect(last.headers.authorization).toBe(`Bearer ${CONFIGURED_KEY}`);
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, DATA_LAYOUT.modelSwitch), 'utf8'))).not.toHaveProperty('apiKey');
    } finally {
      await gw.close();
    }
  });

  it('goes back to MODEL_API_KEY on a name-only switch after a switch that gave a key, and drops that key', async () => {
    const env = { CLAWDBOT_DATA_DIR: dataDir, MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: CONFIGURED_KEY, ROUTING: 'llm' };
    const first = await startGateway(env);
    try {
      expect((await admin(first, 'PUT', { name: 'qwen-plus', apiKey: SWITCH_KEY })).status).toBe(200);
      await ask(first, 'which key now?');
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${SWITCH_KEY}`);

      expect((await admin(first, 'PUT', { name: 'qwen-max' })).status).toBe(200);
      await ask(first, 'and now?');
      expect(fake.completions().at(-1)!.body.model).toBe('qwen-max');
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${CONFIGURED_KEY}`);
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, DATA_LAYOUT.modelSwitch), 'utf8'))).not.toHaveProperty('apiKey');
    } finally {
      await first.close();
    }

    const second = await startGateway(env);
    try {
      await ask(second, 'after a restart?');
      expect(fake.completions().at(-1)!.body.model).toBe('qwen-max');
      expect(fake.completions().at(-1)!.headers.authorization).toBe(`Bearer ${CONFIGURED_KEY}`);
    } finally {
      await second.close();
    }
  });

  it.each([
    [{ endpoint: 'http://x' }, 'name'],
    [{ name: 'm', endpoint: 'not a url' }, 'endpoint'],
    [{ name: 'm', provider: 'gemini' }, 'provider'],
    [{ name: 'm', endpoint: 'http://127.0.0.1:1/v1' }, 'apiKey'],
  ])('refuses %j with a 400 naming %s, and keeps the model', async (body, field) => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir });
    try {
      const response = await admin(gw, 'PUT', body);
      expect(response.status).toBe(400);
      expect((await response.json()).error.param).toBe(field);
      expect((await (await admin(gw, 'GET')).json()).model.provider).toBe('rules');
    } finally {
      await gw.close();
    }
  });

  it('names the endpoint and the cause when the new model cannot be reached', async () => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir, MODEL_TIMEOUT_SECONDS: '2' });
    try {
      // A port that was just free: nothing listens there.
      const probe = net.createServer().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const down = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}/v1`;
      await new Promise((resolve) => probe.close(resolve));
      const response = await admin(gw, 'PUT', { name: 'down-model', endpoint: down, apiKey: SWITCH_KEY });
      expect(response.status).toBe(502);
      // The cause is the socket error's code (ECONNREFUSED). Under jest the SDK takes Node's
      // error for one of another realm and keeps only its message, which names the code too.
      const { message } = (await response.json()).error;
      expect(message).toContain(`openai model down-model at ${down} cannot be reached (`);
      expect(message).toMatch(/cannot be reached \((connect )?ECONNREFUSED[^)]*\)$/);
    } finally {
      await gw.close();
    }
  });

  it('refuses a model that fails its check call, and keeps serving the old one', async () => {
    const gw = await startGateway({ CLAWDBOT_DATA_DIR: dataDir, MODEL_TIMEOUT_SECONDS: '2' });
    try {
      fake.enqueue(...Array(3).fill({ status: 401, headers: { 'x-should-retry': 'false' } }));
      const response = await admin(gw, 'PUT', { name: 'wrong-key-model', endpoint: fake.url, apiKey: 'sk-wrong-wrong-wrong' });
      expect(response.status).toBe(502);
      expect((await response.json()).error.message).toMatch(/still serving rules\/rules/);
      expect((await ask(gw, 'hello')).body.model).toEqual({ provider: 'rules', name: 'rules' });
      expect(fs.existsSync(path.join(dataDir, DATA_LAYOUT.modelSwitch))).toBe(false);
      const audit = await gw.readLog('audit.log');
      expect(audit).toContain('"outcome":"refused"');
    } finally {
      await gw.close();
    }
  });
});

describe('switching under steady load', () => {
  it('fails not one in-flight or new request', async () => {
    // Slow enough that every switch lands while requests are in flight on the old model.
    const fakeA = await startFakeOpenAI({ reply: () => ({ text: 'from A', delayMs: 20 }) });
    const fakeB = await startFakeOpenAI({ reply: () => ({ text: 'from B', delayMs: 20 }) });
    const gw = await startGateway({
      MODEL_PROVIDER: 'openai',
      MODEL_NAME: 'model-a',
      MODEL_ENDPOINT: fakeA.url,
      MODEL_API_KEY: CONFIGURED_KEY,
      ROUTING: 'llm',
      CACHE_TTL_SECONDS: '0',
      RATE_LIMIT_QPS: '100000',
    });
    const outcomes: string[] = [];
    let stop = false;
    const worker = async (index: number) => {
      for (let i = 0; !stop; i++) {
        const stream = (index + i) % 2 === 0;
        const response = await postJson(`${gw.url}/api/chat`, { sessionId: `load-${index}`, message: `question ${i}`, stream }, gw.apiKey);
        if (response.status !== 200) {
          outcomes.push(`HTTP ${response.status}: ${await response.text()}`);
          continue;
        }
        const reply = stream
          ? ((await readEvents(response)).find((e) => typeof e === 'object' && e !== null && 'reply' in e) as { reply?: string } | undefined)?.reply
          : (await response.json()).reply;
        outcomes.push(reply === 'from A' || reply === 'from B' ? reply : `bad reply: ${JSON.stringify(reply)}`);
      }
    };
    try {
      const workers = Array.from({ length: 8 }, (_, index) => worker(index));
      const waitFor = async (count: number) => {
        while (outcomes.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
      };
      const switches: number[] = [];
      for (const [round, target] of [fakeB, fakeA, fakeB, fakeA, fakeB].entries()) {
        await waitFor((round + 1) * 40);
        const response = await admin(gw, 'PUT', { name: target === fakeA ? 'model-a' : 'model-b', endpoint: target.url });
        expect(response.status).toBe(200);
        switches.push((await response.json()).durationMs);
      }
      await waitFor(outcomes.length + 40);
      stop = true;
      await Promise.all(workers);

      expect(outcomes.filter((o) => o !== 'from A' && o !== 'from B')).toEqual([]);
      expect(outcomes.length).toBeGreaterThanOrEqual(240);
      expect(outcomes).toContain('from A');
      expect(outcomes).toContain('from B');
      expect(switches).toHaveLength(5);
    } finally {
      stop = true;
      await gw.close();
      await fakeA.close();
      await fakeB.close();
    }
  }, 60_000);
});
