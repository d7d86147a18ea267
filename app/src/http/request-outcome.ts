import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CLIENT_CLOSED_STATUS } from '../lib/errors';

/** How a request ended. `ip` is the client's, read on arrival; `route` as routeLabel() says. */
export interface RequestOutcome {
  status: number;
  seconds: number;
  ip: string;
  route: string;
}

export type OutcomeRecorder = (request: FastifyRequest, outcome: RequestOutcome) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Calls `recorder` once per request when its response closes (see requestOutcomePlugin). */
    onRequestOutcome(recorder: OutcomeRecorder): void;
  }
}

/**
 * The route pattern, so labels stay few; requests that matched no route share one label.
 * Read once per request: Fastify builds the whole routeOptions object on every read.
 */
const routeLabel = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

/**
 * Tells every recorder (metrics, access log) how each request ended: with the status sent, or
 * with 499 when the client hung up before the response was complete (Fastify's onResponse hook
 * does not run then). One hook and one `close` listener per request serve all recorders: a hook
 * and a listener each cost the /health path about 2% of its CPU. `ip` is read on arrival:
 * request.ip reads the socket, which is gone once a client has hung up.
 */
export const requestOutcomePlugin = fp(
  async (app) => {
    const recorders: OutcomeRecorder[] = [];
    app.decorate('onRequestOutcome', (recorder: OutcomeRecorder) => {
      recorders.push(recorder);
    });
    // A callback hook: an async one costs a promise per request.
    app.addHook('onRequest', (request, reply, done) => {
      const receivedAt = performance.now();
      const ip = request.ip;
      reply.raw.on('close', () => {
        const outcome = {
          status: reply.raw.writableFinished ? reply.statusCode : CLIENT_CLOSED_STATUS,
          seconds: (performance.now() - receivedAt) / 1000,
          ip,
          route: routeLabel(request),
        };
        for (const record of recorders) record(request, outcome);
      });
      done();
    });
  },
  { name: 'clawdbot-request-outcome' },
);
