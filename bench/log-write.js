// `node bench/log-write.js`: what one access.log line costs the gateway, the old way beside the
// new. Both buffer 4 KiB (the bound docs/bot.md gives for a crash) and differ only in how the
// buffer goes out:
// - old: pino.destination({ sync: false, minLength: 4096 }): sonic-boom's fs.write, a round
//   trip through libuv's thread pool per buffer;
// - new: pino.destination({ sync: true, minLength: 4096 }): one synchronous write into the page
//   cache per buffer, as app/src/observability/logs.ts does.
// Lines go out BATCH per event-loop turn, as requests end on a busy gateway. Runs alternate,
// ROUNDS times; prints the process's CPU time (all threads) and wall time per line.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const pino = require('pino');

const LINES = Number(process.env.BENCH_LINES ?? 300_000);
const BATCH = 50;
const ROUNDS = 3;

const accessLine = () => ({
  reqId: 'req_0123456789abcdef0123456789abcdef',
  method: 'GET',
  path: '/health',
  route: '/health',
  status: 200,
  durationMs: 0,
  ip: '127.0.0.1',
});

async function run(dir, sync) {
  const destination = pino.destination({ dest: path.join(dir, `access-${sync}.log`), sync, minLength: 4096 });
  const logger = pino({}, destination);
  const cpu = process.cpuUsage();
  const startedAt = performance.now();
  for (let i = 0; i < LINES; i += BATCH) {
    for (let j = 0; j < BATCH; j++) logger.info(accessLine());
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => destination.flush(resolve));
  const { user, system } = process.cpuUsage(cpu);
  destination.end();
  return { cpuNs: ((user + system) * 1000) / LINES, wallNs: ((performance.now() - startedAt) * 1e6) / LINES };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-log-bench-'));
  try {
    const results = { old: [], new: [] };
    for (let round = 0; round < ROUNDS; round++) {
      results.old.push(await run(dir, false));
      results.new.push(await run(dir, true));
    }
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    for (const [name, runs] of Object.entries(results)) {
      console.log(
        `${name.padEnd(4)} ${name === 'old' ? 'sync: false' : 'sync: true '}: CPU ${median(runs.map((r) => r.cpuNs)).toFixed(0)} ns/line, ` +
          `wall ${median(runs.map((r) => r.wallNs)).toFixed(0)} ns/line (runs: ${runs.map((r) => r.cpuNs.toFixed(0)).join(', ')})`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
