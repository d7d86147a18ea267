import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';

/** Times and counts every response by route and status (served on the metrics port). */
export const metricsPlugin = fp<GatewayDeps>(
  async (app, { metrics }) => {
    app.onRequestOutcome((request, { status, seconds, route }) => {
      const labels = { route, method: request.method, status: String(status) };
      metrics.httpRequestDuration.observe(labels, seconds);
      metrics.httpLatency.observe(seconds);
      metrics.httpRequests.inc(labels);
      if (status >= 500) metrics.http5xx.inc({ route });
    });
  },
  { name: 'clawdbot-metrics', dependencies: ['clawdbot-request-outcome'] },
);
