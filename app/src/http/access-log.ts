import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';
import { routeLabel } from './metrics';

/** One access.log line per response. No headers and no bodies: those carry secrets and text. */
export const accessLogPlugin = fp<GatewayDeps>(
  async (app, { logs }) => {
    app.addHook('onResponse', async (request, reply) => {
      logs.access.info({
        reqId: request.id,
        method: request.method,
        path: request.url.split('?')[0],
        route: routeLabel(request),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime),
        ip: request.ip,
        ...(request.apiKeyId ? { apiKeyId: request.apiKeyId } : {}),
      });
    });
  },
  { name: 'clawdbot-access-log' },
);
