import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogRotation } from '../../app/src/observability/log-rotation';
import { createLogs } from '../../app/src/observability/logs';
import { SyncedLogFile } from '../../app/src/observability/synced-log-file';

const DAY_MS = 24 * 60 * 60 * 1000;
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-log-files-'));
});

afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('LogRotation', () => {
  it('rotates at the first line of a new UTC day, and a file left from an earlier day at once', () => {
    const file = path.join(dir, 'audit.log');
    fs.writeFileSync(file, 'yesterday\n');
    const yesterday = Date.now() - DAY_MS;
    fs.utimesSync(file, yesterday / 1000, yesterday / 1000);
    const rotation = new LogRotation(file, { maxBytes: 1024 * 1024, retentionDays: 7 });
    expect(rotation.due(10)).toBe(true);
    rotation.moveAside();
    fs.writeFileSync(file, 'today\n');
    rotation.added(6);
    expect(rotation.due(10)).toBe(false);
    expect(rotation.due(10, Date.now() + DAY_MS)).toBe(true);
  });

  it('deletes rotated files older than the retention at start, and keeps the younger ones', () => {
    const file = path.join(dir, 'error.log');
    const old = `${file}.2026-01-01T00-00-00-000Z`;
    const young = `${file}.2026-01-05T00-00-00-000Z`;
    for (const [rotated, ageDays] of [[old, 8], [young, 6]] as const) {
      fs.writeFileSync(rotated, 'line\n');
      const time = (Date.now() - ageDays * DAY_MS) / 1000;
      fs.utimesSync(rotated, time, time);
    }
    new LogRotation(file, { maxBytes: 1024 * 1024, retentionDays: 7 });
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  });
});

describe('SyncedLogFile', () => {
  it('writes and fsyncs the lines of one event-loop turn together, and written() waits for them', async () => {
    const file = path.join(dir, 'audit.log');
    const fsyncs = jest.spyOn(fs, 'fsync');
    const log = new SyncedLogFile(new LogRotation(file, { maxBytes: 1024 * 1024, retentionDays: 7 }), (error) => {
      throw error;
    });
    for (let line = 0; line < 100; line++) log.write(`{"line":${line}}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    await log.written();
    expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(100);
    expect(fsyncs).toHaveBeenCalledTimes(1);

    log.write('{"line":100}\n');
    await log.written();
    expect(fsyncs).toHaveBeenCalledTimes(2);
    await log.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(101);
  });
});

describe('createLogs', () => {
  const retention = { maxBytes: 1024 * 1024, retentionDays: 7 };
  const entry = { reqId: 'req_1', method: 'GET', path: '/页面/"quoted"\\', route: 'unmatched', status: 404, durationMs: 3, ip: '::1' };
  const lines = (file: string) =>
    fs
      .readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));

  it("writes access lines in pino's format, with every field of the entry and none left undefined", async () => {
    const logs = createLogs(dir, 'info', retention);
    logs.access.info(entry);
    logs.access.info({ ...entry, apiKeyId: '0123456789ab' });
    logs.modelApi.info({ provider: 'rules' }, 'model call');
    await logs.close();
    const [first, second] = lines('access.log');
    expect(first).toEqual({ level: 30, time: expect.any(Number), pid: process.pid, hostname: os.hostname(), ...entry });
    expect(Math.abs(first.time - Date.now())).toBeLessThan(60_000);
    expect(first).not.toHaveProperty('apiKeyId');
    expect(second.apiKeyId).toBe('0123456789ab');
    expect(lines('model_api.log')).toEqual([expect.objectContaining({ level: 30, pid: process.pid, provider: 'rules', msg: 'model call' })]);
  });

  it('writes no access lines when LOG_LEVEL is above info', async () => {
    for (const level of ['warn', 'silent'] as const) {
      fs.rmSync(path.join(dir, 'access.log'), { force: true });
      const logs = createLogs(dir, level, retention);
      logs.access.info(entry);
      await logs.close();
      expect(fs.readFileSync(path.join(dir, 'access.log'), 'utf8')).toBe('');
    }
  });
});
