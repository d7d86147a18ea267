import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';
import type { Store } from '../store/store';

type IncrementCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * A @fastify/rate-limit store over our Store: fixed windows counted in memory, or in Redis
 * when REDIS_URL is set, so every replica shares one limit per key.
 */
function storeBackedLimits(store: Store) {
  return class StoreBackedLimits {
    incr(key: string, callback: IncrementCallback, timeWindow: number): void {
      store.increment(`rl:${key}`, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }

    child(): StoreBackedLimits {
      return this;
    }
  };
}

/** RATE_LIMIT_QPS as a fixed window: N per second, or 1 per 1/QPS seconds below 1 QPS. */
export function rateWindow(qps: number): { max: number; timeWindow: number } {
  return qps >= 1 ? { max: Math.floor(qps), timeWindow: 1000 } : { max: 1, timeWindow: Math.round(1000 / qps) };
}

const scopeOf = (request: FastifyRequest) => (request.apiKeyId ? 'key' : 'ip');

/**
 * RATE_LIMIT_QPS per API key, or per client IP for requests without a valid key. Over the
 * limit: 429 with Retry-After. Routes opt out with `config: { rateLimit: false }` (/health).
 *
 * When the store cannot count (Redis down), requests are let through uncounted (fail open):
 * the limiter must not turn a store outage into an outage of everything, including the routes
 * that do not need the store (the web page, /v1/models, admin). Requests that do need it answer
 * 503 on their own, and the store fails fast, so letting them through costs nothing.
 */
export const rateLimitPlugin = fp<GatewayDeps>(
  async (app, deps) => {
    await app.register(rateLimit, {
      ...rateWindow(deps.settings.rateLimitQps),
      store: storeBackedLimits(deps.store),
      skipOnError: true,
      keyGenerator: (request) => (request.apiKeyId ? `key:${request.apiKeyId}` : `ip:${request.ip}`),
      onExceeded: (request) => deps.metrics.rateLimited.inc({ scope: scopeOf(request) }),
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`rate limit of ${deps.settings.rateLimitQps} requests per second exceeded; retry in ${context.after}`), {
          statusCode: 429,
        }),
    });
  },
  { name: 'clawdbot-rate-limit', dependencies: ['clawdbot-identify-client'] },
);
