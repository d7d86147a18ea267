import crypto from 'node:crypto';
import fs from 'node:fs';
import { wrap } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** What became of a file's code cache when the file was compiled. */
export type CodeCacheUse = 'used' | 'none' | 'stale' | 'rejected';

export interface CompiledFile {
  script: vm.Script;
  source: string;
  cache: CodeCacheUse;
}

const digestOf = (source: string) => crypto.createHash('sha256').update(source).digest();
const DIGEST_BYTES = 32;

/**
 * Compiles a CommonJS file with the V8 code cache kept in `cacheFile`, when that cache was made
 * from this very source. V8 checks a cache against its own version and flags (and rejects it on
 * a mismatch) but against the source only by its length, so the cache file starts with the
 * SHA-256 of the source it was made from: a same-length edit must not run the old code.
 */
export function compileWithCache(file: string, cacheFile: string): CompiledFile {
  const source = fs.readFileSync(file, 'utf8');
  let cache: Buffer | undefined;
  try {
    cache = fs.readFileSync(cacheFile);
  } catch {
    // No cache: compiled as without this module.
  }
  const fresh = cache !== undefined && cache.subarray(0, DIGEST_BYTES).equals(digestOf(source));
  const script = new vm.Script(wrap(source), { filename: file, cachedData: fresh ? cache!.subarray(DIGEST_BYTES) : undefined });
  const use: CodeCacheUse = cache === undefined ? 'none' : !fresh ? 'stale' : script.cachedDataRejected ? 'rejected' : 'used';
  return { script, source, cache: use };
}

/** Runs a compiled file as `require` runs a module, with `require` and `module` of the caller. */
export function runAsModule({ script }: CompiledFile, file: string, module: NodeJS.Module, require: NodeJS.Require): void {
  script.runInThisContext()(module.exports, require, module, file, path.dirname(file));
}

/**
 * Writes the code cache of a compiled file. Made after a run, it holds every function the run
 * compiled, not only the top level: app/build.js writes it once the gateway has started.
 */
export function writeCodeCache({ script, source }: CompiledFile, cacheFile: string): void {
  fs.writeFileSync(cacheFile, Buffer.concat([digestOf(source), script.createCachedData()]));
}
