import { readdirSync } from 'node:fs';
import path from 'node:path';
import helmet from '@fastify/helmet';
import type {} from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, RouteShorthandOptions } from 'fastify';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';

/**
 * app/public: two levels up from app/src/web (tests, tsx) and app/dist/web (tsc's output), one
 * up from app/dist when this module is part of the gateway's bundle (app/dist/main.js).
 */
export const PUBLIC_DIR = path.resolve(__dirname, path.basename(__dirname) === 'web' ? '../..' : '..', 'public');

const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/** The page parses the chat stream with the same SSE parser as the terminal UI: its ESM build. */
export const SSE_PARSER_PATH = '/vendor/eventsource-parser.js';
const SSE_PARSER_DIR = path.join(packageDir('eventsource-parser'), 'dist');

/**
 * The page renders replies with the same Markdown parser as the terminal chat (markdown-it, its
 * self-contained ESM build) and highlights code with highlight.js (its ES module builds, core
 * and one module per language). Served by the gateway itself: the page loads nothing from
 * another host.
 */
export const VENDOR_FILES: Record<string, { dir: string; file: string }> = {
  [SSE_PARSER_PATH]: { dir: SSE_PARSER_DIR, file: 'index.js' },
  '/vendor/markdown-it.js': { dir: path.join(packageDir('markdown-it'), 'dist/browser'), file: 'markdown-it.esm.min.mjs' },
  '/vendor/highlight/core.js': { dir: path.join(packageDir('@highlightjs/cdn-assets'), 'es'), file: 'core.min.js' },
  '/vendor/highlight/light.css': { dir: path.join(packageDir('@highlightjs/cdn-assets'), 'styles'), file: 'github.min.css' },
  '/vendor/highlight/dark.css': { dir: path.join(packageDir('@highlightjs/cdn-assets'), 'styles'), file: 'github-dark.min.css' },
};
const HIGHLIGHT_LANGUAGES_DIR = path.join(packageDir('@highlightjs/cdn-assets'), 'es/languages');

// The page's files are cheap and load eight at once; counting them against the per-IP limit
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
  for (const [route, { dir, file }] of Object.entries(VENDOR_FILES)) {
    app.get(route, PAGE_FILE, (_request, reply) => reply.sendFile(file, dir));
  }
  // A language module by its name; anything else (a path, a missing language) is the JSON 404.
  app.get<{ Params: { language: string } }>('/vendor/highlight/languages/:language', PAGE_FILE, (request, reply) => {
    const name = /^([a-z0-9-]+)\.js$/.exec(request.params.language)?.[1];
    return name ? reply.sendFile(`${name}.min.js`, HIGHLIGHT_LANGUAGES_DIR) : reply.callNotFound();
  });
};
