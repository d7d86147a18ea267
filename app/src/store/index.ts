import { MemoryStore } from './memory';
import { RedisStore } from './redis';
import type { Store } from './store';

/** Redis when REDIS_URL is set (shared by replicas), else in-process memory. */
export function createStore(redisUrl: string | undefined): Store {
  return redisUrl ? new RedisStore(redisUrl) : new MemoryStore();
}
