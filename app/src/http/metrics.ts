import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';

/**
 * Times every response by route and status (served on the metrics port). One histogram
 * observation per request: the request counts and latency quantiles come from it at scrape time.
 */
export const metricsPlugin = fp<GatewayDeps>(
  async (app, { metrics }) => {
    app.onRequestOutcome((request, { status, seconds, route }) => {
      metrics.httpRequestDuration.observe({ route, method: request.method, status }, seconds);
    });
  },
  { name: 'clawdbot-metrics', dependencies: ['clawdbot-request-outcome'] },
);
