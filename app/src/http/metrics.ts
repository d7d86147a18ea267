import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';

/** The route pattern, so labels stay few; requests that matched no route share one label. */
export const routeLabel = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

/** Times and counts every response by route and status (served on the metrics port). */
export const metricsPlugin = fp<GatewayDeps>(
  async (app, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = routeLabel(request);
      const seconds = reply.elapsedTime / 1000;
      const labels = { route, method: request.method, status: String(reply.statusCode) };
      metrics.httpRequestDuration.observe(labels, seconds);
      metrics.httpLatency.observe(seconds);
      metrics.httpRequests.inc(labels);
      if (reply.statusCode >= 500) metrics.http5xx.inc({ route });
    });
  },
  { name: 'clawdbot-metrics' },
);
