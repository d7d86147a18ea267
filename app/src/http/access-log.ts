import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';

/** The URL without its query string (which may carry what a client did not mean to have logged). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * One access.log line per request. No headers and no bodies: those carry secrets and text.
 * JSON leaves out a field whose value is undefined (apiKeyId without a valid key).
 */
export const accessLogPlugin = fp<GatewayDeps>(
  async (app, { logs }) => {
    app.onRequestOutcome((request, { status, seconds, ip, route }) => {
      logs.access.info({
        reqId: request.id,
        method: request.method,
        path: pathOf(request.url),
        route,
        status,
        durationMs: Math.round(seconds * 1000),
        ip,
        apiKeyId: request.apiKeyId,
      });
    });
  },
  { name: 'clawdbot-access-log', dependencies: ['clawdbot-request-outcome'] },
);
