#!/usr/bin/env node
// Builds app/dist (app/build.js: tsc, then the gateway's bundle) only when app/src,
// app/tsconfig.json or app/build.js changed since the last build: the pre-script of `npm start`,
// `npm run chat` and `npm run modelctl`, which then start at once instead of spending seconds in
// tsc on every call. Serialized across processes with flock where there is one (parallel test
// workers), so two builds never write app/dist at once.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const APP = path.resolve(__dirname, '../app');
const BUILD_INFO = path.join(APP, 'dist/.tsbuildinfo');
const MAIN_JS = path.join(APP, 'dist/main.js');
// Written last (the code cache of a start): a build that stopped before it is no build.
const CODE_CACHE = path.join(APP, 'dist/gateway.cache');

/** The newest modification time under `dir`, directories included (a deleted file changes its directory). */
function newestMtime(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const file = path.join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestMtime(file) : fs.statSync(file).mtimeMs);
  }, fs.statSync(dir).mtimeMs);
}

function isStale() {
  if (![BUILD_INFO, MAIN_JS, CODE_CACHE].every((file) => fs.existsSync(file))) return true;
  const sources = Math.max(newestMtime(path.join(APP, 'src')), ...['tsconfig.json', 'build.js'].map((file) => fs.statSync(path.join(APP, file)).mtimeMs));
  return fs.statSync(BUILD_INFO).mtimeMs < sources;
}

/** Runs app/build.js when the build is stale; returns whether it built. */
function buildIfStale() {
  if (!isStale()) return false;
  const build = [process.execPath, path.join(APP, 'build.js')];
  const lock = path.join(os.tmpdir(), 'clawdbot-app-build.lock');
  const hasFlock = fs.existsSync('/usr/bin/flock') || fs.existsSync('/bin/flock');
  if (hasFlock) execFileSync('flock', [lock, ...build], { stdio: 'inherit' });
  else execFileSync(build[0], build.slice(1), { stdio: 'inherit' });
  // tsc leaves .tsbuildinfo untouched when nothing it emits changed (a comment edit): mark the build fresh.
  const now = new Date();
  fs.utimesSync(BUILD_INFO, now, now);
  return true;
}

module.exports = { buildIfStale };

if (require.main === module) buildIfStale();
