import path from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps';

/** app/public: two levels up from both app/src/web (tests, tsx) and app/dist/web (build, image). */
export const PUBLIC_DIR = path.resolve(__dirname, '../../public');

/** The page parses the chat stream with the same SSE parser as the terminal UI: its ESM build. */
export const SSE_PARSER_PATH = '/vendor/eventsource-parser.js';
const SSE_PARSER_DIR = path.join(path.dirname(require.resolve('eventsource-parser/package.json')), 'dist');

/**
 * The web chat page at `/`: static files, encapsulated so that its security headers apply
 * to the page only. The page calls the gateway's own /api/chat and /v1/models from the
 * same origin, so the CSP allows nothing but 'self': no inline script or style, no frames.
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

  // wildcard: false routes exactly the files in app/public, so unknown paths keep the
  // gateway's JSON 404 instead of a catch-all static route.
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', wildcard: false, dotfiles: 'ignore' });

  app.get(SSE_PARSER_PATH, (_request, reply) => reply.sendFile('index.js', SSE_PARSER_DIR));
};
