import { METRICS } from '../../app/src/contract';
import { rateWindow } from '../../app/src/http/rate-limit';
import { startGateway, type TestGateway } from '../helpers/gateway';

const KEYS = ['first-key-0123456789abcdef', 'second-key-0123456789abcdef'];

describe('rate limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // 0.1 QPS: one request per 10 s window, so nothing here depends on timing.
    gw = await startGateway({ CLAWDBOT_API_KEYS: KEYS.join(','), RATE_LIMIT_QPS: '0.1' });
  });
  afterAll(() => gw.close());

  const models = (token?: string) => fetch(`${gw.url}/v1/models`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('refuses a key over RATE_LIMIT_QPS with 429, Retry-After and an OpenAI-style body', async () => {
    expect((await models(KEYS[0])).status).toBe(200);
    const refused = await models(KEYS[0]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    expect((await refused.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  });

  it('counts each key on its own', async () => {
    expect((await models(KEYS[1])).status).toBe(200);
  });

  it('counts requests without a valid key per client IP, before checking the key', async () => {
    expect((await models('not-a-valid-key')).status).toBe(401);
    expect((await models('another-invalid-key')).status).toBe(429);
    expect((await models()).status).toBe(429);
  });

  it('never limits /health', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });

  it('counts refusals by scope in the metrics', async () => {
    const text = await (await fetch(gw.metricsUrl)).text();
    expect(text).toMatch(new RegExp(`^${METRICS.rateLimited}\\{scope="key"\\} 1$`, 'm'));
    expect(text).toMatch(new RegExp(`^${METRICS.rateLimited}\\{scope="ip"\\} 2$`, 'm'));
  });
});

describe('the client IP behind a proxy (TRUST_PROXY)', () => {
  const spoofing = (gw: TestGateway, forwardedFor: string) =>
    fetch(`${gw.url}/v1/models`, { headers: { 'x-forwarded-for': forwardedFor } });
  const accessLogIps = async (gw: TestGateway) =>
    (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line).ip);

  // Three unauthenticated requests claiming two client addresses, at one request per 10 s.
  it.each([
    ['ignores X-Forwarded-For by default: a client cannot pick a fresh per-IP bucket', {}, [401, 429, 429], ['127.0.0.1', '127.0.0.1', '127.0.0.1']],
    ['does not trust a proxy outside TRUST_PROXY', { TRUST_PROXY: '172.30.0.1' }, [401, 429, 429], ['127.0.0.1', '127.0.0.1', '127.0.0.1']],
    [
      'takes the client from X-Forwarded-For when the connection comes from a trusted proxy',
      { TRUST_PROXY: '127.0.0.1' },
      [401, 401, 429],
      ['203.0.113.1', '203.0.113.2', '203.0.113.2'],
    ],
  ])('%s', async (_title, env, statuses, ips) => {
    const gw = await startGateway({ RATE_LIMIT_QPS: '0.1', ...env });
    try {
      const answered: number[] = [];
      for (const forwardedFor of ['203.0.113.1', '203.0.113.2', '203.0.113.2']) answered.push((await spoofing(gw, forwardedFor)).status);
      expect(answered).toEqual(statuses);
      expect(await accessLogIps(gw)).toEqual(ips);
    } finally {
      await gw.close();
    }
  });
});

describe('rateWindow', () => {
  it.each([
    [50, { max: 50, timeWindow: 1000 }],
    [2.5, { max: 2, timeWindow: 1000 }],
    [0.5, { max: 1, timeWindow: 2000 }],
  ])('turns %d QPS into %j', (qps, window) => {
    expect(rateWindow(qps)).toEqual(window);
  });
});
