import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';

/** One access.log line per request. No headers and no bodies: those carry secrets and text. */
export const accessLogPlugin = fp<GatewayDeps>(
  async (app, { logs }) => {
    app.onRequestOutcome((request, { status, seconds, ip, route }) => {
      logs.access.info({
        reqId: request.id,
        method: request.method,
        path: request.url.split('?')[0],
        route,
        status,
        durationMs: Math.round(seconds * 1000),
        ip,
        ...(request.apiKeyId ? { apiKeyId: request.apiKeyId } : {}),
      });
    });
  },
  { name: 'clawdbot-access-log', dependencies: ['clawdbot-request-outcome'] },
);
