import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';
import { startRedis, type TestRedis } from './helpers/redis';

// A gateway on a real redis-server that is killed, or hung with SIGSTOP, mid-run. Requests that
// need the store must answer 503 store_unavailable at once (never 500, never after a pile of
// timeouts), the others must keep working, and everything must come back with Redis.

/** error.log's line for a Redis command that timed out (each one cost a request a full timeout). */
const TIMED_OUT = /Redis did not answer in time/g;

let redis: TestRedis;
let gw: TestGateway;

beforeEach(async () => {
  redis = await startRedis();
  gw = await startGateway({ REDIS_URL: redis.url });
});

afterEach(async () => {
  await gw.close();
  await redis.stop();
});

const chat = (message: string) => postJson(`${gw.url}/api/chat`, { sessionId: 'outage', message }, gw.apiKey);

async function expectStoreUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  const body = await response.json();
  expect(body).toEqual({ error: { message: expect.stringMatching(/redis store is unavailable/), type: 'api_error', param: null, code: 'store_unavailable' } });
}

/** Polls /ready until it answers 200: the gateway found Redis again by itself. */
async function waitUntilReady(): Promise<void> {
  while ((await fetch(`${gw.url}/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('Redis goes away while the gateway runs', () => {
  it('killed: 503 store_unavailable without waiting, other routes unaffected, and recovery when it is back', async () => {
    expect((await chat('hello')).status).toBe(200);

    redis.signal('SIGKILL');
    await redis.stop();
    for (let i = 0; i < 3; i++) await expectStoreUnavailable(await chat(`while Redis is down ${i}`));
    // No key needed, no store needed: these must not turn into 5xx.
    expect((await postJson(`${gw.url}/api/chat`, { message: 'hi' })).status).toBe(401);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    // The rate limiter fails open: routes that do not need the store keep answering.
    expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gw.apiKey}` } })).status).toBe(200);
    const ready = await fetch(`${gw.url}/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.store).toMatch(/redis store is unavailable/);
    // A closed connection fails every command at once: not one of them waited for a timeout.
    expect((await gw.readLog('error.log')).match(TIMED_OUT)).toBeNull();

    redis = await startRedis(redis.port);
    await waitUntilReady();
    expect((await chat('hello again')).status).toBe(200);
    const errors = await gw.readLog('error.log');
    expect(errors.match(/Redis connection lost/g)).toHaveLength(1);
    expect(errors).toMatch(/Redis connection is back/);
    expect(errors).not.toMatch(/"level":50,[^\n]*request failed/);
  }, 30_000);

  it('hung (SIGSTOP): one request waits for the command timeout, the next ones fail at once, and it recovers on SIGCONT', async () => {
    expect((await chat('hello')).status).toBe(200);

    redis.signal('SIGSTOP');
    const startedAt = performance.now();
    for (let i = 0; i < 5; i++) await expectStoreUnavailable(await chat(`while Redis hangs ${i}`));
    // The timed-out command dropped the connection, so only the first request paid a timeout.
    expect((await gw.readLog('error.log')).match(TIMED_OUT)).toHaveLength(1);
    // Sanity only: five requests that each waited for a timeout would take five seconds.
    expect(performance.now() - startedAt).toBeLessThan(4000);

    redis.signal('SIGCONT');
    await waitUntilReady();
    expect((await chat('hello again')).status).toBe(200);
  }, 30_000);
});
