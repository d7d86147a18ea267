import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_LAYOUT } from '../../app/src/contract';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { spawnGateway } from '../helpers/gateway';

// The gateway bounds logs/ itself (LOG_MAX_MB, LOG_RETENTION_DAYS), as `npm start` runs it:
// files rotate while it runs, the oldest go, and no line is lost across a rotation.

const KIB = 1024;
let fake: FakeFeishu;
const dataDirs: string[] = [];

beforeAll(async () => {
  fake = await startFakeFeishu();
});

afterAll(async () => {
  await fake?.close();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a gateway with LOG_MAX_MB = maxBytes, sends `count` forged Feishu callbacks (one audit and one access line each), stops it. */
async function refusedCallbacks(maxBytes: number, count: number, signal: NodeJS.Signals): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-log-retention-'));
  dataDirs.push(dataDir);
  const gw = await spawnGateway(feishuEnv(fake, { CLAWDBOT_DATA_DIR: dataDir, LOG_MAX_MB: String(maxBytes / KIB / KIB) }));
  try {
    // Ten at a time, so that audit lines of one turn share a write too.
    for (let sent = 0; sent < count; sent += 10) {
      const statuses = await Promise.all(
        Array.from({ length: Math.min(10, count - sent) }, async () => {
          const delivery = signedDelivery(messageEvent({ text: 'forged' }), { signature: 'forged' });
          const response = await fetch(`${gw.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
          return response.status;
        }),
      );
      expect(statuses.every((status) => status === 401)).toBe(true);
    }
  } finally {
    await gw.stop(signal);
  }
  return path.join(dataDir, DATA_LAYOUT.logs);
}

/** A log's files, the current one and those rotated aside. */
function filesOf(logsDir: string, log: string): string[] {
  return fs.readdirSync(logsDir).filter((name) => name === log || name.startsWith(`${log}.`)).map((name) => path.join(logsDir, name));
}

function linesOf(files: string[], matches: (record: Record<string, unknown>) => boolean): number {
  return files
    .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter(matches).length;
}

describe('log rotation by the gateway itself', () => {
  it('rotates audit.log by size without losing a line, even when killed', async () => {
    // 64 KiB: the files rotate at 16 KiB, and 150 lines of about 200 bytes stay under the bound.
    const logsDir = await refusedCallbacks(64 * KIB, 150, 'SIGKILL');
    const audit = filesOf(logsDir, 'audit.log');
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(linesOf(audit, (record) => record.msg === 'channel callback refused')).toBe(150);
    for (const file of audit) expect(fs.statSync(file).size).toBeLessThanOrEqual(16 * KIB);
  }, 120_000);

  it('rotates the buffered access.log without losing a line across the reopen', async () => {
    const logsDir = await refusedCallbacks(64 * KIB, 150, 'SIGTERM');
    const access = filesOf(logsDir, 'access.log');
    expect(access.length).toBeGreaterThanOrEqual(2);
    expect(linesOf(access, (record) => record.path === '/api/feishu/callback')).toBe(150);
  }, 120_000);

  it('deletes the oldest rotated files to stay within LOG_MAX_MB', async () => {
    // 16 KiB: 150 lines of about 200 bytes (30 KiB) outgrow it.
    const maxBytes = 16 * KIB;
    const logsDir = await refusedCallbacks(maxBytes, 150, 'SIGTERM');
    for (const log of ['audit.log', 'access.log']) {
      const files = filesOf(logsDir, log);
      expect(files.length).toBeGreaterThanOrEqual(2);
      const total = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
      // One write (a buffered 4 KiB chunk, or a group commit) may land in a file past its rotation point.
      expect(total).toBeLessThanOrEqual(maxBytes + 4 * KIB);
      expect(linesOf(files, () => true)).toBeLessThan(150);
    }
  }, 120_000);
});
