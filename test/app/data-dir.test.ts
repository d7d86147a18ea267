import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_LAYOUT } from '../../app/src/contract';
import { dataDirFrom, keepSecret, readKeptSecret } from '../../app/src/lib/data-dir';

describe('the data dir and the secrets kept in it', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-datadir-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is CLAWDBOT_DATA_DIR (trimmed, relative to the working directory), else ./data; blank is unset', () => {
    expect(dataDirFrom({}, '/srv/bot')).toBe('/srv/bot/data');
    expect(dataDirFrom({ CLAWDBOT_DATA_DIR: '   ' }, '/srv/bot')).toBe('/srv/bot/data');
    expect(dataDirFrom({ CLAWDBOT_DATA_DIR: ' state ' }, '/srv/bot')).toBe('/srv/bot/state');
    expect(dataDirFrom({ CLAWDBOT_DATA_DIR: '/data' }, '/srv/bot')).toBe('/data');
  });

  it('reads a kept secret trimmed, and says where it looked when there is none', () => {
    const file = path.join(dir, DATA_LAYOUT.generatedAdminToken);
    expect(readKeptSecret(dir, DATA_LAYOUT.generatedAdminToken)).toEqual({ file });
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '\n');
    expect(readKeptSecret(dir, DATA_LAYOUT.generatedAdminToken)).toEqual({ file });
    fs.writeFileSync(file, 'cb-token\n');
    expect(readKeptSecret(dir, DATA_LAYOUT.generatedAdminToken)).toEqual({ file, secret: 'cb-token' });
  });

  it('generates a secret once, readable by its owner only, and keeps it', () => {
    const first = keepSecret(dir, DATA_LAYOUT.generatedApiKey);
    expect(first).toMatchObject({ generated: true, secret: expect.stringMatching(/^cb-[\w-]{43}$/) });
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    expect(keepSecret(dir, DATA_LAYOUT.generatedApiKey)).toEqual({ ...first, generated: false });
  });
});
