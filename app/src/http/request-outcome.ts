import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CLIENT_CLOSED_STATUS } from '../lib/errors';

/** What happens to a finished request: its status, duration, and the client's IP read on arrival. */
export type OutcomeRecorder = (request: FastifyRequest, status: number, seconds: number, ip: string) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Calls `recorder` once per request when its response closes (see requestOutcomePlugin). */
    onRequestOutcome(recorder: OutcomeRecorder): void;
  }
}

/** The route pattern, so labels stay few; requests that matched no route share one label. */
export const routeLabel = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

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
        const status = reply.raw.writableFinished ? reply.statusCode : CLIENT_CLOSED_STATUS;
        const seconds = (performance.now() - receivedAt) / 1000;
        for (const record of recorders) record(request, status, seconds, ip);
      });
      done();
    });
  },
  { name: 'clawdbot-request-outcome' },
);
