import type { Logger } from 'pino';
import { MemoryStore, type MemoryStoreLimits } from './memory';
import { RedisStore } from './redis';
import type { Store } from './store';

/**
 * Redis when REDIS_URL is set (shared by replicas), else in-process memory within `limits`.
 * `log` hears about Redis outages.
 */
export function createStore(redisUrl: string | undefined, limits: MemoryStoreLimits, log?: Logger): Store {
  return redisUrl ? new RedisStore(redisUrl, log) : new MemoryStore(Date.now, limits);
}
