import type { FastifyHttpOptions, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Settings } from '../lib/config';

/**
 * How long a keep-alive connection may sit idle between requests (Node's own default). Caddy
 * opens a connection per request to the bot (keepalive off), so only direct clients reuse one.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** The request line and headers must arrive within this (or the request timeout, if shorter). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A socket silent in both directions this much longer than a model call may take is closed. */
const SILENT_SOCKET_MARGIN_MS = 10_000;
/** How often Node looks for requests over their time: the timeouts hold to within this. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/**
 * A body refused with 413 is read and discarded up to this much before the connection is cut,
 * so that a client still sending (Node's fetch) gets to read the 413 instead of EPIPE.
 */
export const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * The public server's timeouts, none of which a slow client can reset by trickling bytes: the
 * request timeout counts from the first byte of a request to the last of its body, whatever
 * arrives meanwhile; the headers timeout also closes a connection that never sends a request.
 */
export function serverTimeouts(settings: Pick<Settings, 'requestTimeoutMs' | 'modelTimeoutMs'>): FastifyHttpOptions<Server> {
  return {
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: settings.requestTimeoutMs,
    // A model call may keep a non-streamed answer silent for its whole budget.
    connectionTimeout: settings.modelTimeoutMs + SILENT_SOCKET_MARGIN_MS,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, settings.requestTimeoutMs),
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  };
}

/**
 * For an answer sent before the body was read (413): keeps the connection open instead of
 * Fastify's Connection: close, whose reset would hit a client still sending. Node then reads the
 * rest of the body and discards it, as nginx's lingering close does; past DRAIN_LIMIT_BYTES (or
 * the request timeout) the connection is cut.
 */
export function drainUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete) return;
  reply.removeHeader('connection');
  // Node starts discarding the body when the answer is finished (its listener runs first).
  reply.raw.once('finish', () => {
    let drained = 0;
    raw.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT_BYTES) raw.socket?.destroy();
    });
  });
}
