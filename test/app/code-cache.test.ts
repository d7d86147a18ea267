import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../helpers/gateway';

// Each load runs in a process of its own: within one, V8 would serve a second compile of the
// same source from its in-memory cache and never read the file's.
const CODE_CACHE_JS = path.resolve(__dirname, '../../app/dist/lib/code-cache.js');

describe('compiling the gateway with its code cache (app/src/start.ts)', () => {
  let dir: string;
  let file: string;
  let cacheFile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-code-cache-'));
    file = path.join(dir, 'bundle.js');
    cacheFile = path.join(dir, 'bundle.cache');
    fs.writeFileSync(file, "exports.answer = () => 'old'; exports.dir = __dirname; exports.self = require('node:path').basename(__filename);");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => buildApp(), 120_000);

  /**
   * Compiles and runs the file as a module (writing its cache after, if asked); returns what
   * became of the cache and what the module exported.
   */
  async function load(write = false): Promise<{ cache: string; answer: string; dir: string; self: string }> {
    const script = `
      const { compileWithCache, runAsModule, writeCodeCache } = require(${JSON.stringify(CODE_CACHE_JS)});
      const [file, cacheFile] = process.argv.slice(1);
      const compiled = compileWithCache(file, cacheFile);
      const loaded = { exports: {} };
      runAsModule(compiled, file, loaded, require);
      if (${write}) writeCodeCache(compiled, cacheFile);
      const { answer, dir, self } = loaded.exports;
      console.log(JSON.stringify({ cache: compiled.cache, answer: answer(), dir, self }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, file, cacheFile]);
    return JSON.parse(stdout);
  }

  it('runs the file as a module without a cache, and with the cache written after a run', async () => {
    expect(await load(true)).toEqual({ cache: 'none', answer: 'old', dir, self: 'bundle.js' });
    expect(await load()).toEqual({ cache: 'used', answer: 'old', dir, self: 'bundle.js' });
  });

  it('does not use a cache made from another source of the same length (V8 checks only the length)', async () => {
    await load(true);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("'old'", "'new'"));
    expect(await load()).toMatchObject({ cache: 'stale', answer: 'new' });
  });

  it('compiles without a cache V8 refuses (another Node, other flags, damaged)', async () => {
    await load(true);
    const cache = fs.readFileSync(cacheFile);
    // The first 32 bytes are the source's digest; V8's header (version, flags) follows.
    cache.fill(7, 32, 64);
    fs.writeFileSync(cacheFile, cache);
    expect(await load()).toMatchObject({ cache: 'rejected', answer: 'old' });
  });
});
