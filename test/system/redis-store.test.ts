import { RedisStore } from '../../app/src/store/redis';
import { startGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';
import { describeStoreContract } from '../helpers/store-contract';
import { startRedis, type TestRedis } from './helpers/redis';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

describeStoreContract('redis', async () => ({
  store: new RedisStore(redis.url),
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}));

describe('redis store', () => {
  it('reports an unreachable Redis through ping, without crashing', async () => {
    const store = new RedisStore('redis://127.0.0.1:1');
    await expect(store.ping()).rejects.toThrow();
    await store.close();
  });
});

describe('two gateway replicas sharing one Redis', () => {
  it('share sessions and one rate limit per API key', async () => {
    const [sessionKey, limitedKey] = ['session-key-0123456789abcdef', 'limited-key-0123456789abcdef'];
    // 0.1 QPS: one request per key per 10 s window, across both replicas.
    const env = { REDIS_URL: redis.url, CLAWDBOT_API_KEYS: `${sessionKey},${limitedKey}`, RATE_LIMIT_QPS: '0.1' };
    const [a, b] = [await startGateway(env), await startGateway(env)];
    try {
      const first = await (await postJson(`${a.url}/api/chat`, { sessionId: 'replicated', message: 'hello' }, sessionKey)).json();
      const seenByB = await b.deps.store.readList('session:replicated');
      expect(seenByB.map((item) => JSON.parse(item).content)).toEqual(['hello', first.reply]);

      const models = (gw: typeof a) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${limitedKey}` } });
      expect((await models(a)).status).toBe(200);
      const refused = await models(b);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await (await fetch(`${b.url}/ready`)).json()).checks.store).toBe('ok');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
