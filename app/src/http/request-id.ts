import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';

/** The response header naming the request, as OpenAI's API does; the SDKs surface it (`_request_id`). */
export const REQUEST_ID_HEADER = 'x-request-id';

// 80 random bits per process keep ids apart across restarts and replicas; the counter keeps
// them apart within the process (2^48 ids), with no random numbers drawn per request.
const processPrefix = randomBytes(10).toString('hex');
let issued = 0;

/** Fastify's genReqId: `req_` and 32 hex digits, unique across restarts and replicas, unlike Fastify's counter. */
export const newRequestId = () => `req_${processPrefix}${(issued++).toString(16).padStart(12, '0')}`;

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
