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
 * up from app/dist when this module is part of the gateway's bundle (app/dist/gateway.js).
 */
export const PUBLIC_DIR = path.resolve(__dirname, path.basename(__dirname) === 'web' ? '../..' : '..', 'public');

/**
 * A package's directory, found on the first request for one of its files: resolving the three
 * packages when the gateway starts took about 8 ms of its start-up, for files most starts never
 * serve.
 */
const packageDirs = new Map<string, string>();
function packageDir(name: string): string {
  let dir = packageDirs.get(name);
  if (dir === undefined) {
    dir = path.dirname(require.resolve(`${name}/package.json`));
    packageDirs.set(name, dir);
  }
  return dir;
}

/** A file of an installed package, by the package's name and the file's directory inside it. */
interface PackageFile {
  packageName: string;
  dir: string;
  file: string;
}

/** The page parses the chat stream with the same SSE parser as the terminal UI: its ESM build. */
export const SSE_PARSER_PATH = '/vendor/eventsource-parser.js';

/**
 * The page renders replies with the same Markdown parser as the terminal chat (markdown-it, its
 * self-contained ESM build) and highlights code with highlight.js (its ES module builds, core
 * and one module per language). Served by the gateway itself: the page loads nothing from
 * another host.
 */
export const VENDOR_FILES: Record<string, PackageFile> = {
  [SSE_PARSER_PATH]: { packageName: 'eventsource-parser', dir: 'dist', file: 'index.js' },
  '/vendor/markdown-it.js': { packageName: 'markdown-it', dir: 'dist/browser', file: 'markdown-it.esm.min.mjs' },
  '/vendor/highlight/core.js': { packageName: '@highlightjs/cdn-assets', dir: 'es', file: 'core.min.js' },
  '/vendor/highlight/light.css': { packageName: '@highlightjs/cdn-assets', dir: 'styles', file: 'github.min.css' },
  '/vendor/highlight/dark.css': { packageName: '@highlightjs/cdn-assets', dir: 'styles', file: 'github-dark.min.css' },
};
const HIGHLIGHT_LANGUAGES = { packageName: '@highlightjs/cdn-assets', dir: 'es/languages' };
const dirOf = ({ packageName, dir }: Omit<PackageFile, 'file'>) => path.join(packageDir(packageName), dir);

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
  for (const [route, vendored] of Object.entries(VENDOR_FILES)) {
    app.get(route, PAGE_FILE, (_request, reply) => reply.sendFile(vendored.file, dirOf(vendored)));
  }
  // A language module by its name; anything else (a path, a missing language) is the JSON 404.
  app.get<{ Params: { language: string } }>('/vendor/highlight/languages/:language', PAGE_FILE, (request, reply) => {
    const name = /^([a-z0-9-]+)\.js$/.exec(request.params.language)?.[1];
    return name ? reply.sendFile(`${name}.min.js`, dirOf(HIGHLIGHT_LANGUAGES)) : reply.callNotFound();
  });
};
