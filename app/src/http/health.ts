import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps';
import { ROUTES } from '../contract';

// Stores fail fast (StoreUnavailableError, RedisStore's command timeout): no timer needed here.
async function checkStore(deps: GatewayDeps): Promise<string> {
  try {
    await deps.store.ping();
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

function checkModel(deps: GatewayDeps): string {
  const { model, keyExpiresAt } = deps.models.status();
  if (keyExpiresAt && Date.parse(keyExpiresAt) <= Date.now()) return `the key of ${model.provider}/${model.name} expired at ${keyExpiresAt}`;
  return 'ok';
}

/**
 * /health: the process answers (Docker's HEALTHCHECK). /ready: the store and the model are
 * usable, and whatever else registered a readiness check (an IM long connection) is up; 503
 * otherwise. Neither is rate limited.
 */
export const healthPlugin: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const config = { rateLimit: false as const };
  app.get(ROUTES.health, { config }, async () => ({ status: 'healthy' }));
  app.get(ROUTES.ready, { config }, async (_request, reply) => {
    const checks = { store: await checkStore(deps), model: checkModel(deps), ...deps.readiness.run() };
    const ready = Object.values(checks).every((check) => check === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
};
