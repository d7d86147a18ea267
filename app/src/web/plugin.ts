import { readdirSync } from 'node:fs';
import path from 'node:path';
import helmet from '@fastify/helmet';
import type {} from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, RouteShorthandOptions } from 'fastify';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';

/** app/public: two levels up from both app/src/web (tests, tsx) and app/dist/web (build, image). */
export const PUBLIC_DIR = path.resolve(__dirname, '../../public');

/** The page parses the chat stream with the same SSE parser as the terminal UI: its ESM build. */
export const SSE_PARSER_PATH = '/vendor/eventsource-parser.js';
const SSE_PARSER_DIR = path.join(path.dirname(require.resolve('eventsource-parser/package.json')), 'dist');

// The page's files are cheap and load seven at once; counting them against the per-IP limit
// would break the page for an office behind one NAT address. Its API calls are still limited.
const PAGE_FILE: RouteShorthandOptions = { config: { rateLimit: false } };

/**
 * The web chat page at `/`: the files of app/public, each on its own route (unknown paths keep
 * the gateway's JSON 404). Encapsulated so that its security headers apply to the page only.
 * The page calls the gateway's /api/chat and /v1/models from the same origin, so the CSP
 * allows nothing but 'self': no inline script or style, no frames, no other hosts.
 */
export const webPlugin: FastifyPluginAsync<GatewayDeps> = async (app) => {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        manifestSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    // TLS is Caddy's concern on the host; on a plain-HTTP LAN address HSTS would only get in the way.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  // serve: false only adds reply.sendFile (ETag, Last-Modified, ranges, content types).
  await app.register(fastifyStatic, { root: PUBLIC_DIR, serve: false });

  app.get(ROUTES.web, PAGE_FILE, (_request, reply) => reply.sendFile('index.html'));
  for (const file of readdirSync(PUBLIC_DIR)) {
    app.get(`/${file}`, PAGE_FILE, (_request, reply) => reply.sendFile(file));
  }
  app.get(SSE_PARSER_PATH, PAGE_FILE, (_request, reply) => reply.sendFile('index.js', SSE_PARSER_DIR));
};
