import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { DATA_LAYOUT, METRICS } from '../../app/src/contract';
import { LatencyWindow, bucketQuantile } from '../../app/src/observability/latency-window';
import { createMetrics } from '../../app/src/observability/metrics';
import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';

const MODEL_KEY = 'sk-observability-0123456789abcdef';

const sample = (metrics: string, name: string, labels = '') => {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name}{`)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('metrics and logs', () => {
  let fake: FakeLLM;
  let gw: TestGateway;
  const inTenDays = new Date(Date.now() + 10 * 86_400_000).toISOString();

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: 'a model answer with SECRET-SAUCE text' });
    gw = await startGateway({
      MODEL_PROVIDER: 'openai',
      MODEL_ENDPOINT: fake.url,
      MODEL_API_KEY: MODEL_KEY,
      MODEL_KEY_EXPIRES_AT: inTenDays,
      CACHE_TTL_SECONDS: '60',
    });
    const chat = (message: string) => postJson(`${gw.url}/api/chat`, { sessionId: 'observed', message }, gw.apiKey);
    await chat('hello');
    await chat('tell me the SECRET-SAUCE please');
    await postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'cache me' }] }, gw.apiKey);
    await postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'cache me' }] }, gw.apiKey);
    fake.enqueue(...Array(3).fill({ status: 500, headers: { 'retry-after-ms': '1' } }));
    expect((await chat('this one fails')).status).toBe(502);
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('serves metrics on the metrics port only', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    const response = await fetch(gw.metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('exports every metric the infra alarms on, with the shared names', async () => {
    const text = await (await fetch(gw.metricsUrl)).text();
    expect(sample(text, `${METRICS.httpRequestDuration}_count`, '{route="/api/chat",method="POST",status="200"}')).toBe(2);
    expect(sample(text, METRICS.httpRequests, '{route="/api/chat",method="POST",status="502"}')).toBe(1);
    expect(sample(text, METRICS.http5xx, '{route="/api/chat"}')).toBe(1);
    for (const quantile of ['0.5', '0.9', '0.99']) expect(sample(text, METRICS.httpLatency, `{quantile="${quantile}"}`)).toBeGreaterThan(0);
    expect(sample(text, METRICS.modelCalls, '{provider="openai",model="gpt-4o-mini"}')).toBe(3);
    expect(sample(text, METRICS.modelCalls, '{provider="rules",model="rules"}')).toBe(1);
    expect(sample(text, METRICS.modelFailures, '{provider="openai",model="gpt-4o-mini",reason="error"}')).toBe(1);
    expect(sample(text, `${METRICS.modelCallDuration}_count`, '{provider="openai",model="gpt-4o-mini"}')).toBe(3);
    expect(sample(text, METRICS.cacheHits)).toBe(1);
    expect(sample(text, METRICS.cacheMisses)).toBe(3);
    expect(sample(text, METRICS.activeSessions)).toBe(1);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const days = sample(text, METRICS.modelKeyDaysToExpiry) as number;
    expect(days).toBeGreaterThan(9.9);
    expect(days).toBeLessThanOrEqual(10);
  });

  it('leaves out days to key expiry when MODEL_KEY_EXPIRES_AT is unset', async () => {
    const plain = await startGateway();
    try {
      expect(await (await fetch(plain.metricsUrl)).text()).not.toContain(METRICS.modelKeyDaysToExpiry);
    } finally {
      await plain.close();
    }
  });

  it('writes access, model_api, audit and error logs as JSON, without secrets or message text at info', async () => {
    const access = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    expect(access.find((e) => e.route === '/api/chat' && e.status === 502)).toMatchObject({ method: 'POST', ip: '127.0.0.1', apiKeyId: expect.any(String) });
    const modelApi = (await gw.readLog('model_api.log')).trim().split('\n').map((line) => JSON.parse(line));
    expect(modelApi.find((e) => e.outcome === 'ok')).toMatchObject({ provider: 'openai', name: 'gpt-4o-mini', durationMs: expect.any(Number), usage: { promptTokens: 3 } });
    expect(modelApi.find((e) => e.outcome === 'error')?.error).toMatch(/HTTP 500/);
    const everything = (await Promise.all(['access.log', 'model_api.log', 'audit.log', 'error.log'].map((f) => gw.readLog(f)))).join('\n');
    expect(everything).not.toContain('SECRET-SAUCE');
    expect(everything).not.toContain(MODEL_KEY);
    expect(everything).not.toContain(gw.apiKey);
  });

  it('logs the path without its query string, and no key fingerprint for a request without a key', async () => {
    expect((await fetch(`${gw.url}/health?token=QUERY-SECRET`)).status).toBe(200);
    const access = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    const line = access.find((e) => e.route === '/health');
    expect(line).toMatchObject({ method: 'GET', path: '/health', status: 200, ip: '127.0.0.1', reqId: expect.stringMatching(/^req_/) });
    expect(line).not.toHaveProperty('apiKeyId');
    expect(JSON.stringify(access)).not.toContain('QUERY-SECRET');
  });

  it('logs message text at debug level only', async () => {
    const debug = await startGateway({ LOG_LEVEL: 'debug', MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: MODEL_KEY });
    try {
      await postJson(`${debug.url}/api/chat`, { message: 'debug me DEBUG-TEXT' }, debug.apiKey);
      const modelApi = await debug.readLog('model_api.log');
      expect(modelApi).toContain('DEBUG-TEXT');
      expect(modelApi).not.toContain(MODEL_KEY);
    } finally {
      await debug.close();
    }
  });

  it('counts the rules engine, as the current model too, as model calls of provider rules, outside model_api.log', async () => {
    const rules = await startGateway();
    try {
      for (const content of ['hello', 'what time is it', 'something it cannot answer']) {
        expect((await postJson(`${rules.url}/v1/chat/completions`, { messages: [{ role: 'user', content }] }, rules.apiKey)).status).toBe(200);
      }
      expect((await postJson(`${rules.url}/api/chat`, { message: 'help', stream: true }, rules.apiKey)).status).toBe(200);
      const text = await (await fetch(rules.metricsUrl)).text();
      expect(sample(text, METRICS.modelCalls, '{provider="rules",model="rules"}')).toBe(4);
      expect(sample(text, `${METRICS.modelCallDuration}_count`, '{provider="rules",model="rules"}')).toBe(4);
      // Its answers are no provider calls: the conversation log records them, as rules answers.
      expect(await rules.readLog('model_api.log')).toBe('');
      await rules.deps.close();
      const dir = path.join(rules.dataDir, DATA_LAYOUT.conversations);
      const records = fs.readdirSync(dir).flatMap((file) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n')).map((line) => JSON.parse(line));
      expect(records.map((r) => r.source)).toEqual(['rules', 'rules', 'rules', 'rules']);
    } finally {
      await rules.close();
    }
  });

  it('appends every exchange to conversations/<date>.jsonl', async () => {
    const dir = path.join(gw.dataDir, DATA_LAYOUT.conversations);
    await gw.deps.close(); // flushes the file; the gateway is closed again (a no-op) after all tests
    const lines = fs.readdirSync(dir).flatMap((file) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n'));
    const records = lines.map((line) => JSON.parse(line));
    expect(records.map((r) => r.user)).toEqual(['hello', 'tell me the SECRET-SAUCE please', 'cache me', 'cache me', 'this one fails']);
    expect(records.map((r) => r.source)).toEqual(['rules', 'model', 'model', 'cache', 'model']);
    expect(records[4].error).toMatch(/HTTP 500/);
  });
});

describe('request counts and latency quantiles, derived from the duration histogram at scrape time', () => {
  const scrape = async (durations: Array<[seconds: number, status: number, count: number]>) => {
    const registry = new Registry();
    const metrics = createMetrics(registry, { activeSessions: () => 0 });
    for (const [seconds, status, count] of durations) {
      for (let i = 0; i < count; i++) metrics.httpRequestDuration.observe({ route: '/api/chat', method: 'POST', status }, seconds);
    }
    return registry.metrics();
  };

  it('counts requests by route, method and status, and 5xx by route', async () => {
    const text = await scrape([
      [0.003, 200, 970],
      [0.2, 502, 10],
      [3, 503, 20],
    ]);
    expect(sample(text, METRICS.httpRequests, '{route="/api/chat",method="POST",status="200"}')).toBe(970);
    expect(sample(text, METRICS.httpRequests, '{route="/api/chat",method="POST",status="503"}')).toBe(20);
    expect(sample(text, METRICS.http5xx, '{route="/api/chat"}')).toBe(30);
  });

  it('puts the P99 in the bucket of the 99th percentile request, interpolated as histogram_quantile does', async () => {
    // 970 fast requests, 10 in (0.1, 0.25] s, 20 in (2.5, 5] s: the 990th of 1,000 is the 10th of
    // the 20 slow ones, half way through their bucket.
    const text = await scrape([
      [0.003, 200, 970],
      [0.2, 200, 10],
      [3, 200, 20],
    ]);
    expect(sample(text, METRICS.httpLatency, '{quantile="0.99"}')).toBeCloseTo(3.75);
    expect(sample(text, METRICS.httpLatency, '{quantile="0.5"}')).toBeCloseTo((0.005 * 500) / 970);
    expect(sample(text, METRICS.httpLatency, '{quantile="0.9"}')).toBeLessThanOrEqual(0.005);
  });

  it('exports no quantiles while there were no requests', async () => {
    expect(await scrape([])).not.toMatch(new RegExp(`^${METRICS.httpLatency}\\{`, 'm'));
  });
});

describe('LatencyWindow', () => {
  const BOUNDS = [0.1, 1];
  const MINUTE = 60_000;
  // Cumulative counts: at most 0.1 s, at most 1 s, all.
  const counts = (fast: number, slow: number, slower = 0) => [fast, fast + slow, fast + slow + slower];

  it('covers the requests since the scrape a minute ago, not those before it', () => {
    const window = new LatencyWindow(BOUNDS, 30_000, 0);
    expect(window.quantiles([0.99], counts(0, 100), MINUTE)).toEqual([expect.closeTo(0.991)]);
    // The next minute had only fast requests.
    expect(window.quantiles([0.99], counts(100, 100), 2 * MINUTE)).toEqual([expect.closeTo(0.099)]);
    expect(window.quantiles([0.99], counts(100, 100), 3 * MINUTE)).toBeUndefined();
  });

  it("keeps the agent's minute whole when someone scrapes in between", () => {
    const window = new LatencyWindow(BOUNDS, 30_000, 0);
    window.quantiles([0.99], counts(0, 0), MINUTE);
    window.quantiles([0.99], counts(0, 100), MINUTE + 10_000);
    // The agent's next scrape still sees the 100 slow requests of its minute.
    expect(window.quantiles([0.99], counts(100, 100), 2 * MINUTE)).toEqual([expect.closeTo(0.982)]);
  });

  it('gives the highest finite bound for a quantile beyond it, as histogram_quantile does', () => {
    expect(bucketQuantile(0.99, BOUNDS, counts(10, 0, 90))).toBe(1);
    expect(bucketQuantile(0.5, BOUNDS, counts(0, 0))).toBeUndefined();
  });
});
