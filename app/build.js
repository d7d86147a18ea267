#!/usr/bin/env node
// Builds app/dist: tsc typechecks and emits every module (the CLIs run from there), then esbuild
// bundles the gateway (src/main.ts and everything it imports) into dist/gateway.js: one file
// instead of some 440 modules found, read and compiled one by one at every start, and its entry
// point (src/start.ts) into dist/main.js. Last, it starts the gateway once to make the V8 code
// cache dist/main.js compiles the gateway with (dist/gateway.cache). Issue 13: cold start and
// memory at rest; bench/RESULTS.md has the figures.
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const esbuild = require('esbuild');

// Loaded only when needed, from node_modules: bundled, every start would parse them. The SDKs
// and Redis when the settings call for them; Fastify's inject() and JSON-schema compilers when
// a test or a route schema uses them (server.ts loads the compilers on first use).
const LOADED_WHEN_NEEDED = [
  'openai',
  '@anthropic-ai/sdk',
  // The SDKs' HTTP client (models/provider-fetch.ts).
  'undici',
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

const DIST = path.join(__dirname, 'dist');

/**
 * Starts the built gateway (its defaults: rules model, in-memory store) until /health answers,
 * then stops it: at exit it writes the code cache of what it compiled (src/start.ts).
 */
async function writeCodeCache() {
  const cacheFile = path.join(DIST, 'gateway.cache');
  fs.rmSync(cacheFile, { force: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-build-'));
  const child = spawn(process.execPath, [path.join(DIST, 'main.js')], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      CLAWDBOT_DATA_DIR: dataDir,
      CLAWDBOT_API_KEYS: crypto.randomBytes(24).toString('hex'),
      CLAWDBOT_WRITE_CODE_CACHE: cacheFile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (data) => {
        output += data;
        const listening = /"url":"(http:[^"]+)"/.exec(output);
        if (listening) resolve(listening[1]);
      });
      void exited.then(() => reject(new Error(`the gateway exited before listening:\n${output}`)));
    });
    const health = await fetch(`${url}/health`);
    if (!health.ok) throw new Error(`/health answered ${health.status}`);
    child.kill('SIGTERM');
    if ((await exited) !== 0 || !fs.existsSync(cacheFile)) throw new Error('the gateway wrote no code cache');
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function build() {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', __dirname], { stdio: 'inherit' });
  // Asynchronous: esbuild runs plugins in no synchronous build.
  const { outputFiles } = await esbuild.build({
    entryPoints: { gateway: path.join(__dirname, 'src/main.ts'), main: path.join(__dirname, 'src/start.ts') },
    outdir: DIST,
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
    const ascii = file.endsWith('.js') ? text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
    fs.writeFileSync(file, ascii);
  }
  await writeCodeCache();
}

build().catch((error) => {
  process.exitCode = 1;
  if (!error.errors) console.error(error);
});
