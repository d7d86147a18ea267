import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../app/src/lib/config';
import { buildGateway } from '../../app/src/server';
import { createDeps } from '../../app/src/startup';
import { spawnGateway } from '../helpers/gateway';

const APP_DIST = path.resolve(__dirname, '../../app/dist');

/** The packages among `files` (paths of loaded modules), by their node_modules name. */
function packagesOf(files: string[]): Set<string> {
  const names = files.flatMap((file) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file.slice(file.lastIndexOf('node_modules/')));
    return match ? [match[1]] : [];
  });
  return new Set(names);
}

describe('what the gateway loads (start-up time and memory at rest)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-lazy-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('with the defaults (rules model, in-memory store, no IM) loads its one bundled file, and no SDK, Redis client, JSON-schema compiler, glob or ip-address, even after answering', async () => {
    const loadedFile = path.join(dir, 'loaded.json');
    const gateway = await spawnGateway({
      CLAWDBOT_API_KEYS: 'lazy-loading-key-0123456789',
      NODE_OPTIONS: `--require ${path.resolve(__dirname, '../fixtures/record-loaded-modules.js')}`,
      LOADED_MODULES_FILE: loadedFile,
    });
    try {
      const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.apiKey}` },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'what time is it' }] }),
      });
      expect(chat.status).toBe(200);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const files = JSON.parse(fs.readFileSync(loadedFile, 'utf8')) as string[];
    // One file holds the gateway and the packages it always uses (app/build.js's bundle,
    // gateway.js), which the entry point main.js compiles itself, with its code cache.
    expect(files.filter((file) => file.startsWith(APP_DIST))).toEqual([path.join(APP_DIST, 'main.js')]);
    const loaded = packagesOf(files);
    const unneeded = ['ioredis', 'ajv', '@fastify/ajv-compiler', 'light-my-request', 'openai', '@anthropic-ai/sdk', 'undici', 'dingtalk-stream', '@larksuiteoapi/node-sdk', 'glob', 'ip-address'];
    expect(unneeded.filter((name) => loaded.has(name))).toEqual([]);
  });

  it('still validates a route that declares a JSON schema (the compilers load on first use)', async () => {
    const deps = await createDeps(loadSettings({ CLAWDBOT_DATA_DIR: dir, CLAWDBOT_API_KEYS: 'lazy-loading-key-0123456789' }));
    const app = await buildGateway(deps);
    try {
      app.post('/schema-check', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => ({ ok: true }));
      const refused = await app.inject({ method: 'POST', url: '/schema-check', payload: { other: 1 } });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(/name/);
      const accepted = await app.inject({ method: 'POST', url: '/schema-check', payload: { name: 'x' } });
      expect(accepted.json()).toEqual({ ok: true });
    } finally {
      await app.close();
      await deps.close();
    }
  });
});
