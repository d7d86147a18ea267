import { hash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayDeps } from '../deps';
import { InputError } from '../lib/errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** apiKeyId() of the caller's valid API key; undefined without one. */
    apiKeyId?: string;
  }
}

// One-shot hash: a Hash object per request cost four times as much.
const sha256 = (text: string) => hash('sha256', text, 'hex');

/**
 * The id of an API key: a 12-hex-digit prefix of its SHA-256. It names the key in the access log
 * and owns the key's /api/chat sessions; the key itself is never stored or logged.
 */
export const apiKeyId = (key: string) => sha256(key).slice(0, 12);

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Recognizes the caller's API key on every request (rate limits count per key, the access
 * log names its fingerprint). It does not refuse anyone: see requireApiKey.
 */
export const identifyClient = fp<GatewayDeps>(
  async (app, deps) => {
    // Keyed by digest: the lookup compares digests, never the keys themselves.
    const keyIds = new Map((deps.settings.apiKeys ?? []).map((key) => [sha256(key), apiKeyId(key)] as const));
    app.decorateRequest('apiKeyId', undefined);
    // A callback hook: an async one costs a promise per request.
    app.addHook('onRequest', (request, _reply, done) => {
      const token = bearerToken(request);
      if (token) request.apiKeyId = keyIds.get(sha256(token));
      done();
    });
  },
  { name: 'clawdbot-identify-client' },
);

/**
 * Refuses requests without a valid `Authorization: Bearer <API key>` with 401. Register it in
 * the scope whose routes need a key. It runs before the body is read (and after the rate limit).
 */
export const requireApiKey = fp(
  async (app) => {
    app.addHook('preParsing', async (request) => {
      if (!request.apiKeyId) {
        throw new InputError('missing or invalid API key: send Authorization: Bearer <key>', undefined, 'invalid_api_key', 401);
      }
    });
  },
  { name: 'clawdbot-require-api-key', dependencies: ['clawdbot-identify-client'] },
);
