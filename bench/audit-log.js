// `node bench/audit-log.js`: audit.log under a flood of audited requests (e.g. refused IM
// callbacks with bad signatures), the old way beside the new. Each simulated request logs one
// audit line and may be acknowledged only once that line is on disk.
// - old: pino.destination({ sync: true, fsync: true }): write + fsync per line, on the event loop.
// - new: SyncedLogFile (app/src/observability/synced-log-file.ts): the lines of one event-loop
//   turn share one write and one fsync, run off the event loop; the request awaits written().
// CONCURRENCY requests are in flight at a time, LINES in all. Prints lines/s, fsync calls and
// the event loop's delay (what every other request on the gateway would wait).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const pino = require('pino');

require('../scripts/build-if-stale.js').buildIfStale();
const { SyncedLogFile } = require('../app/dist/observability/synced-log-file.js');
const { LogRotation } = require('../app/dist/observability/log-rotation.js');

const LINES = Number(process.env.BENCH_LINES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const RETENTION = { maxBytes: 256 * 1024 * 1024, retentionDays: 7 };

/** Runs the flood against `logger` (whose lines are on disk once `written()` resolves). */
async function flood(logger, written) {
  let fsyncs = 0;
  const countFsync = (name) => {
    const original = fs[name];
    fs[name] = (...args) => {
      fsyncs++;
      return original(...args);
    };
    return () => (fs[name] = original);
  };
  const restore = [countFsync('fsync'), countFsync('fsyncSync')];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = process.hrtime.bigint();
  let next = 0;
  const request = async () => {
    while (next < LINES) {
      const line = next++;
      // A request's own work: the callback arrives, its signature is checked, it is refused.
      await new Promise((resolve) => setImmediate(resolve));
      logger.warn({ channel: 'feishu', reason: 'bad_signature', detail: 'X-Lark-Signature does not match', line }, 'channel callback refused');
      await written();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, request));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  delay.disable();
  for (const undo of restore) undo();
  return { linesPerSecond: Math.round(LINES / seconds), fsyncs, loopDelayP99Ms: Math.round(delay.percentile(99) / 1e5) / 10, loopDelayMaxMs: Math.round(delay.max / 1e5) / 10 };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-bench-audit-'));
  try {
    const old = pino.destination({ dest: path.join(dir, 'old-audit.log'), sync: true, fsync: true });
    const oldResult = await flood(pino({}, old), async () => undefined);
    old.end();

    const file = new SyncedLogFile(new LogRotation(path.join(dir, 'audit.log'), RETENTION), (error) => {
      throw error;
    });
    const newResult = await flood(pino({}, file), () => file.written());
    await file.close();

    const lines = (name) => fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean).length;
    console.log(`audit.log, ${LINES} lines, ${CONCURRENCY} requests in flight, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.table({
      'old: fsync per line': { ...oldResult, linesOnDisk: lines('old-audit.log') },
      'new: group commit': { ...newResult, linesOnDisk: lines('audit.log') },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
