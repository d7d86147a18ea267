import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { sessionKey } from '../../app/src/chat/sessions';
import { apiKeyId } from '../../app/src/http/auth';
import Redis from 'ioredis';
import { RedisStore } from '../../app/src/store/redis';
import { StoreUnavailableError } from '../../app/src/store/store';
import { buildApp, startGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';
import { describeStoreContract } from '../helpers/store-contract';
import { startRedis, type TestRedis } from './helpers/redis';

const REPO_ROOT = path.resolve(__dirname, '../..');

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

describeStoreContract('redis', async () => ({
  store: new RedisStore({ url: redis.url }),
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}));

describe('redis store', () => {
  beforeAll(() => buildApp(), 120_000);

  it('reports an unreachable Redis through ping, and leaves no timer or socket behind once closed', () => {
    // In a process of its own, so that what is still pending after close() can be listed.
    const script = `
      const { RedisStore } = require('./app/dist/store/redis.js');
      const store = new RedisStore({ url: 'redis://127.0.0.1:1' });
      store.ping().then(() => console.log('ping answered'), (error) => console.log(error.name)).then(() => store.close()).then(() => {
        setTimeout(() => setImmediate(() => console.log(JSON.stringify(process.getActiveResourcesInfo()))), 100);
      });`;
    const [outcome, pending] = execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n');
    expect(outcome).toBe('StoreUnavailableError');
    // The pipes are the child's stdout and stderr.
    expect((JSON.parse(pending) as string[]).filter((resource) => resource !== 'PipeWrap')).toEqual([]);
  });
});

describe('two gateway replicas sharing one Redis', () => {
  it('share sessions and one rate limit per API key', async () => {
    const [sessionApiKey, limitedKey] = ['session-key-0123456789abcdef', 'limited-key-0123456789abcdef'];
    // 0.1 QPS: one request per key per 10 s window, across both replicas.
    const env = { REDIS_URL: redis.url, CLAWDBOT_API_KEYS: `${sessionApiKey},${limitedKey}`, RATE_LIMIT_QPS: '0.1' };
    const [a, b] = [await startGateway(env), await startGateway(env)];
    try {
      const first = await (await postJson(`${a.url}/api/chat`, { sessionId: 'replicated', message: 'hello' }, sessionApiKey)).json();
      const seenByB = await b.deps.store.readList(sessionKey({ sessionId: 'replicated', principal: apiKeyId(sessionApiKey) }));
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

  it('takes a write refused by a primary demoted in a failover (READONLY) for an outage, not a bug', async () => {
    const [promoted, demoted] = [await startRedis(), await startRedis()];
    const store = new RedisStore({ url: demoted.url });
    const admin = new Redis(demoted.url);
    try {
      await store.set('before', 'yes');
      await admin.call('REPLICAOF', '127.0.0.1', String(promoted.port));
      await expect(store.set('after', 'yes')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      admin.disconnect();
      await store.close();
      await Promise.all([promoted.stop(), demoted.stop()]);
    }
  });
});
