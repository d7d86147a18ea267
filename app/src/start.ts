// The gateway's entry point: app/build.js bundles this file alone into app/dist/main.js, and
// the gateway (main.ts and all it imports) into app/dist/gateway.js, which this compiles with
// the V8 code cache the build made by starting it once (app/dist/gateway.cache): a start then
// deserializes the functions it runs instead of parsing and compiling them (issue 13, cold start;
// bench/RESULTS.md has the figures).
import path from 'node:path';
import v8 from 'node:v8';
import { compileWithCache, runAsModule, writeCodeCache, type CodeCacheUse } from './lib/code-cache';

// Old space grows to 1.5x what the last full GC left live before the next one, not up to V8's
// 4x: under saturation a chat request promotes about half a kilobyte of short-lived objects,
// and the default let that garbage take old space to 47 MB, 27 with this (peak RSS over 60,000 chat
// requests 135 -> 113 MB, GC pause share unchanged; bench/RESULTS.md). Set here, not on the command
// line, so `npm start`, the image and the bench all run with it (NODE_OPTIONS refuses it); and
// before the compile, as when the cache was made: V8 rejects a cache made under other flags.
v8.setFlagsFromString('--heap-growing-percent=50');

const gateway = path.join(__dirname, 'gateway.js');
const cacheFile = path.join(__dirname, 'gateway.cache');
const WITHOUT_CACHE: Record<Exclude<CodeCacheUse, 'used'>, string> = {
  none: 'is missing',
  stale: 'is from another build of gateway.js',
  rejected: 'was made under other V8 flags or another Node',
};

if (process.sourceMapsEnabled) {
  // node --enable-source-maps: Node maps the stack traces of the modules it loads itself only.
  require(gateway);
} else {
  const compiled = compileWithCache(gateway, cacheFile);
  // app/build.js sets this for the one start that makes the cache: written at exit, it holds
  // what a start compiles.
  const writeTo = process.env.CLAWDBOT_WRITE_CODE_CACHE;
  if (writeTo) process.once('exit', () => writeCodeCache(compiled, writeTo));
  else if (compiled.cache !== 'used') {
    process.emitWarning(`${cacheFile} ${WITHOUT_CACHE[compiled.cache]}: the gateway starts without it, slower; app/build.js (npm run build) makes a new one`, 'CodeCacheWarning');
  }
  runAsModule(compiled, gateway, module, require);
}
