#!/usr/bin/env node
// Builds app/dist: tsc typechecks and emits every module (the CLIs run from there), then esbuild
// bundles the gateway (src/main.ts and everything it imports) into dist/main.js: one file instead
// of some 440 modules found, read and compiled one by one at every start (issue 13: cold start
// and memory at rest; bench/RESULTS.md has the figures).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

// Loaded only when needed, from node_modules: bundled, every start would parse them. The SDKs
// and Redis when the settings call for them; Fastify's inject() and JSON-schema compilers when
// a test or a route schema uses them (server.ts loads the compilers on first use).
const LOADED_WHEN_NEEDED = [
  'openai',
  '@anthropic-ai/sdk',
  // The SDKs' fetch (models/sdk.ts); with whatwg-url's tables it added 0.3 MB to the bundle.
  'node-fetch',
  'ioredis',
  '@larksuiteoapi/node-sdk',
  'dingtalk-stream',
  'axios',
  'light-my-request',
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
];

/**
 * Parts of packages the bundle would carry without ever running them (issue 13: every start
 * parses and compiles the whole bundle, and keeps its source in memory).
 * - zod re-exports all its locales as `z.locales` (and `z.core.locales`), so all 64 (300 KB)
 *   were bundled; the gateway reports in zod's default English, which zod registers itself
 *   (v4/classic/schemas.js imports locales/en.js directly, not through these re-exports).
 * - Two packages are required at load but called only on paths the gateway never takes: glob
 *   (90 KB) by @fastify/static to list a root it serves itself (`serve: true`; the page uses
 *   `serve: false` and reply.sendFile), ip-address (45 KB) by @fastify/rate-limit's default key
 *   (the gateway gives its own keyGenerator). Each is replaced by its one used export, which
 *   loads the package from node_modules on its first call, should a later change take that path.
 */
const LOADED_ON_FIRST_CALL = [
  { name: 'glob', importer: path.join('@fastify', 'static'), exported: 'glob' },
  { name: 'ip-address', importer: path.join('@fastify', 'rate-limit'), exported: 'Address6' },
];

const unusedAtRun = {
  name: 'unused-at-run',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      importer.includes(path.join('node_modules', 'zod', 'v4'))
        ? { path: path.join(path.dirname(importer), '../locales/index.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, ({ path: file }) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(file),
    }));
    for (const { name, importer: by } of LOADED_ON_FIRST_CALL) {
      build.onResolve({ filter: new RegExp(`^${name}$`) }, ({ importer }) =>
        importer.includes(by) ? { path: name, namespace: 'loaded-on-first-call' } : undefined,
      );
    }
    build.onLoad({ filter: /.*/, namespace: 'loaded-on-first-call' }, ({ path: name }) => {
      const { exported } = LOADED_ON_FIRST_CALL.find((stub) => stub.name === name);
      return {
        // A function or a class (`new Address6(...)`); the require is external (see below).
        contents: `exports.${exported} = function (...args) {
          const real = require('${name}').${exported};
          return new.target ? new real(...args) : real(...args);
        };`,
        resolveDir: __dirname,
      };
    });
  },
};

async function build() {
  const outfile = path.join(__dirname, 'dist/main.js');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', __dirname], { stdio: 'inherit' });
  // Asynchronous: esbuild runs plugins in no synchronous build.
  const { outputFiles } = await esbuild.build({
    entryPoints: [path.join(__dirname, 'src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: [...LOADED_WHEN_NEEDED, ...LOADED_ON_FIRST_CALL.map(({ name }) => name)],
    plugins: [unusedAtRun],
    // No comments or indentation: 1.7 MB instead of 2.5 to parse and keep. Names stay, so stack
    // traces name their functions; the source map (node --enable-source-maps) gives the lines.
    minifyWhitespace: true,
    sourcemap: true,
    write: false,
    logLevel: 'warning',
    // server.ts resolves Fastify in node_modules on purpose: its schema compilers load from there.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
  for (const { path: file, text } of outputFiles) {
    // esbuild leaves non-ASCII characters in regular expressions raw, and one such character makes
    // V8 keep the whole source as a two-byte string: twice its size in memory.
    const ascii = file === outfile ? text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
    fs.writeFileSync(file, ascii);
  }
}

build().catch((error) => {
  process.exitCode = 1;
  if (!error.errors) console.error(error);
});
