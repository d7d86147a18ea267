import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { drainUnreadBody } from './connections';
import { errorBody, InputError, type ErrorBody } from '../lib/errors';
import { ModelError } from '../models/types';
import { StoreUnavailableError } from '../store/store';
import { firstProblem } from '../lib/validation';

/** The body limit: larger requests get 413. */
export const BODY_LIMIT_BYTES = 1_048_576;

// Fastify's own errors for bodies it cannot read, in words a client can act on.
const FRAMEWORK_ERRORS: Record<string, { status: 400 | 413 | 415; code: string; message: (e: FastifyError) => string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: (e) => `malformed JSON body: ${e.message}` },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: () => 'the body is empty; send a JSON object' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'request_too_large', message: () => 'the body is larger than 1 MB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: () => 'send the body as JSON (Content-Type: application/json)' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', message: () => 'Content-Length does not match the body' },
};

/**
 * Retry-After of a 503 for an unavailable store: the Redis client tries to reconnect about this
 * often, and the rate limit lets a client's retries through meanwhile.
 */
export const STORE_RETRY_AFTER_SECONDS = 2;

export interface DescribedError {
  status: number;
  body: ErrorBody;
  /** A bug rather than a client's or an upstream's failure: logged, and answered 500. */
  unexpected: boolean;
  retryAfterSeconds?: number;
}

/** Status and OpenAI-style body for any error; unknown errors are a 500 without details. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof InputError) return { status: error.statusCode, body: errorBody(error.statusCode, error.message, error.code, error.param), unexpected: false };
  if (error instanceof StoreUnavailableError) {
    const message = `${error.message}; try again shortly`;
    return { status: 503, body: errorBody(503, message, 'store_unavailable'), unexpected: false, retryAfterSeconds: STORE_RETRY_AFTER_SECONDS };
  }
  if (error instanceof ModelError) return { status: error.status, body: errorBody(error.status, error.message, error.code), unexpected: false };
  const fastifyError = error as FastifyError;
  const known = fastifyError?.code ? FRAMEWORK_ERRORS[fastifyError.code] : undefined;
  if (known) return { status: known.status, body: errorBody(known.status, known.message(fastifyError), known.code), unexpected: false };
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return { status: 400, body: errorBody(400, `malformed JSON body: ${error.message}`, 'invalid_json'), unexpected: false };
  }
  const status = fastifyError?.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = status === 429 ? 'rate_limit_exceeded' : (fastifyError.code ?? 'invalid_request').toLowerCase();
    return { status, body: errorBody(status, fastifyError.message, code), unexpected: false };
  }
  return { status: 500, body: errorBody(500, 'internal error; it has been logged', 'internal_error'), unexpected: true };
}

type ParserError = Error & { code?: string };

function describeClientError(error: ParserError): { status: number; code: string; message: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' };
  if (error.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', message: 'the request headers are too large' };
  return { status: 400, code: 'malformed_request', message: `the HTTP request could not be read (${error.code ?? error.message}); check Content-Length against the body` };
}

/**
 * Fastify's clientErrorHandler: a request that Node's HTTP parser cannot read (a Content-Length
 * that does not match the body, a broken request line, oversized headers) gets the OpenAI-style
 * error body too, written straight to the socket since there is no request. As Node's own
 * handler does, it writes only while no response has begun on the socket, then closes it.
 */
export function clientErrorHandler(error: ParserError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { status, code, message } = describeClientError(error);
    const body = JSON.stringify(errorBody(status, message, code));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Validates a request body; a violation is a 400 naming the field. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('the body must be a JSON object', 'body');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const { field, message } = firstProblem(parsed.error);
    throw new InputError(`${field || 'body'}: ${message}`, field || 'body');
  }
  return parsed.data;
}

/**
 * Every error leaves as `{"error":{"message","type","code","param"}}`. Client mistakes are
 * 4xx, an unavailable store 503; only a bug is a 500, and it goes to error.log with the request id.
 */
export const errorsPlugin = fp<GatewayDeps>(
  async (app, deps) => {
    app.setErrorHandler((error, request, reply) => {
      const { status, body, unexpected, retryAfterSeconds } = describeError(error);
      if (unexpected) deps.logs.error.error({ err: error, reqId: request.id, method: request.method, url: request.url }, 'request failed');
      if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
      if (status === 413) drainUnreadBody(request, reply);
      return reply.status(status).send(body);
    });
    app.setNotFoundHandler((request, reply) => {
      reply.status(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`, 'not_found'));
    });
  },
  { name: 'clawdbot-errors' },
);
