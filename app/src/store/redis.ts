import Redis from 'ioredis';
import type { Store } from './store';

// Starts a fixed window on the first hit; also repairs a counter that somehow lost its TTL.
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/** Every key the gateway writes starts with this, so a shared Redis stays readable. */
export const REDIS_KEY_PREFIX = 'clawdbot:';

/**
 * Redis-backed store (REDIS_URL): sessions, cache, rate limits and dedup shared by every
 * gateway replica. It connects (and reconnects) in the background: the gateway starts even
 * while Redis is away, /ready answers 503 until it is back, and commands fail fast rather
 * than queueing forever.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, {
      keyPrefix: REDIS_KEY_PREFIX,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
    });
    // Connection errors surface through the failed commands and /ready; without a listener
    // ioredis would also print each reconnect attempt as an unhandled 'error' event.
    this.redis.on('error', () => undefined);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds) await this.redis.set(key, value, 'EX', ttlSeconds);
    else await this.redis.set(key, value);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(key, value, 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = (await this.redis.eval(INCREMENT_SCRIPT, 1, key, Math.max(1, Math.round(windowMs)))) as [number, number];
    return { count, ttlMs };
  }

  async appendToList(key: string, value: string, maxLength: number, ttlSeconds: number): Promise<void> {
    const transaction = this.redis.multi().rpush(key, value).ltrim(key, -maxLength, -1);
    // EXPIRE 0 would delete the list; 0 means "no expiry" as in set().
    if (ttlSeconds > 0) transaction.expire(key, ttlSeconds);
    const results = await transaction.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
  }

  async readList(key: string): Promise<string[]> {
    return this.redis.lrange(key, 0, -1);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
