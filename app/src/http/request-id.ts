import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';

/** The response header naming the request, as OpenAI's API does; the SDKs surface it (`_request_id`). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Fastify's genReqId: ids that stay unique across restarts and replicas, unlike its counter. */
export const newRequestId = () => `req_${randomUUID().replaceAll('-', '')}`;

/**
 * Sends each request's id (Fastify's request.id, which the access and error logs record as
 * `reqId`) in x-request-id, on every response, errors included.
 */
export const requestIdPlugin = fp(
  async (app) => {
    // A callback hook: an async one costs a promise per request.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
  },
  { name: 'clawdbot-request-id' },
);
