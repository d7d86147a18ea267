import type { Logger } from 'pino';
import { MemoryStore, type MemoryStoreLimits } from './memory';
import type { RedisTarget } from './redis';
import type { Store } from './store';

/**
 * Redis when REDIS_URL or REDIS_SENTINELS is set (shared by replicas), else in-process memory
 * within `limits`. `log` hears about Redis outages.
 */
export function createStore(redis: RedisTarget | undefined, limits: MemoryStoreLimits, log?: Logger): Store {
  if (!redis) return new MemoryStore(Date.now, limits);
  // Loaded only when configured: ioredis is 45 modules the in-memory store never needs.
  const { RedisStore } = require('./redis') as typeof import('./redis');
  return new RedisStore(redis, log);
}
