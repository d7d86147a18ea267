import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../helpers/gateway';

const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * Builds the gateway (as main.ts does, without listening) in a fresh Node process and lists the
 * platform SDK packages it loaded. A process of its own: jest keeps its own module registry.
 */
function sdkPackagesLoaded(env: Record<string, string>): string[] {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-lazy-'));
  const script = `
    const { loadSettings } = require('./app/dist/lib/config.js');
    const { createDeps } = require('./app/dist/startup.js');
    const { buildGateway } = require('./app/dist/server.js');
    (async () => {
      const deps = await createDeps(loadSettings({ ...${JSON.stringify(env)}, CLAWDBOT_DATA_DIR: ${JSON.stringify(dataDir)} }));
      const app = await buildGateway(deps);
      const sdks = new Set(Object.keys(require.cache).flatMap((file) => file.match(/node_modules\\/(@larksuiteoapi\\/node-sdk|dingtalk-stream)\\//)?.[1] ?? []));
      console.log(JSON.stringify([...sdks].sort()));
      await app.close();
      await deps.close();
    })();`;
  try {
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8' }));
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('platform SDKs load only for a configured channel', () => {
  beforeAll(() => buildApp(), 120_000);

  it('loads neither SDK without a channel (npm start)', () => {
    expect(sdkPackagesLoaded({})).toEqual([]);
  });

  it('loads each SDK when its channel is on', () => {
    const unreachable = 'http://127.0.0.1:1';
    const env = {
      DINGTALK_APP_KEY: 'dingkey',
      DINGTALK_APP_SECRET: 'dingsecret',
      DINGTALK_MODE: 'stream',
      DINGTALK_API_BASE: unreachable,
      FEISHU_APP_ID: 'cli_0123456789abcdef',
      FEISHU_APP_SECRET: 'feishusecret',
      FEISHU_VERIFICATION_TOKEN: 'token',
      FEISHU_API_BASE: unreachable,
    };
    expect(sdkPackagesLoaded(env)).toEqual(['@larksuiteoapi/node-sdk', 'dingtalk-stream']);
  });
});
