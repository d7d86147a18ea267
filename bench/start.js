// Cold start and memory at rest of gateway builds, interleaved (issue 13): each script (a path,
// app/dist/main.js if none) is forked START_RUNS times (default 10) with the gateway's bench
// environment; printed are the medians of fork to the first /health 200, the process's own CPU
// time until then (user + system, /proc/<pid>/stat: on a shared machine the wall time mostly
// measures the others), and VmRSS one second later.
//   node bench/start.js app/dist/main.js /tmp/before/main.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, gatewayEnv, memory, sleep, startServer, stopServer } = require('./processes');

// USER_HZ, the unit of the CPU times in /proc/<pid>/stat (100 on Linux).
const CLOCK_TICKS_PER_SECOND = 100;
const cpuMs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const scripts = process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '../app/dist/main.js')];
  const runs = Number(process.env.START_RUNS ?? 10);
  const figures = new Map(scripts.map((script) => [script, { coldMs: [], cpuMs: [], restMb: [] }]));
  for (let run = 0; run < runs; run++) {
    for (const script of scripts) {
      const port = await freePort();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-bench-'));
      const { child, coldStartMs } = await startServer(path.resolve(script), [], gatewayEnv(port, dataDir), `http://127.0.0.1:${port}/health`);
      const cpu = cpuMs(child.pid);
      await sleep(1000);
      const { rss } = memory(child.pid);
      await stopServer(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
      const figure = figures.get(script);
      figure.coldMs.push(coldStartMs);
      figure.cpuMs.push(cpu);
      figure.restMb.push(rss / 1048576);
    }
  }
  console.log(`${os.loadavg()[0].toFixed(1)} load; medians of ${runs} starts each`);
  for (const [script, { coldMs, cpuMs: cpu, restMb }] of figures) {
    console.log(`${script}: cold start ${median(coldMs).toFixed(0)} ms, CPU to ready ${median(cpu)} ms, RSS at rest ${median(restMb).toFixed(1)} MB`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
