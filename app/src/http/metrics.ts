import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';
import { CLIENT_CLOSED_STATUS } from '../lib/errors';

/** The route pattern, so labels stay few; requests that matched no route share one label. */
export const routeLabel = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

/**
 * Calls `record` once per request when its response closes: with the status sent, or with
 * 499 when the client hung up before the response was complete (Fastify's onResponse hook
 * does not run then). `ip` is the client's, read on arrival: request.ip reads the socket,
 * which is gone once a client has hung up.
 */
export function onEveryOutcome(
  app: FastifyInstance,
  record: (request: FastifyRequest, status: number, seconds: number, ip: string) => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const receivedAt = performance.now();
    const ip = request.ip;
    reply.raw.once('close', () => {
      const status = reply.raw.writableFinished ? reply.statusCode : CLIENT_CLOSED_STATUS;
      record(request, status, (performance.now() - receivedAt) / 1000, ip);
    });
  });
}

/** Times and counts every response by route and status (served on the metrics port). */
export const metricsPlugin = fp<GatewayDeps>(
  async (app, { metrics }) => {
    onEveryOutcome(app, (request, status, seconds) => {
      const route = routeLabel(request);
      const labels = { route, method: request.method, status: String(status) };
      metrics.httpRequestDuration.observe(labels, seconds);
      metrics.httpLatency.observe(seconds);
      metrics.httpRequests.inc(labels);
      if (status >= 500) metrics.http5xx.inc({ route });
    });
  },
  { name: 'clawdbot-metrics' },
);
