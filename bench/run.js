// `npm run bench`: throughput, P50/P99 latency and server RSS for the gateway (rules model,
// memory store, info logs, as `npm start` runs it) beside a bare Fastify hello-world, in the
// same run on the same machine. Each server runs in its own process; autocannon runs here.
// Results print as a table and go to bench/out/results.json.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const ROOT = path.resolve(__dirname, '..');
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;
const API_KEY = 'bench-key-0123456789abcdef';

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** Starts a server process and resolves once it answers on `readyUrl`. */
async function startServer(script, args, env, readyUrl) {
  const child = fork(script, args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(readyUrl)).ok) return child;
    } catch {
      // not listening yet
    }
    if (attempt > 200 || child.exitCode !== null) throw new Error(`${script} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function measure(name, server, options) {
  let peakRss = rssBytes(server.pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(server.pid))), 200);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options });
  clearInterval(sampler);
  const row = {
    name,
    rps: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    peakRssMB: Math.round(peakRss / 1024 / 1024),
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
  console.log(`  ${name}: ${row.rps} req/s, P50 ${row.p50ms} ms, P99 ${row.p99ms} ms, RSS ${row.peakRssMB} MB, failures ${row.failures}`);
  return row;
}

async function main() {
  const helloPort = await freePort();
  const gatewayPort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-bench-'));
  const hello = await startServer(path.join(__dirname, 'hello.js'), [String(helloPort)], process.env, `http://127.0.0.1:${helloPort}/`);
  const gateway = await startServer(
    path.join(ROOT, 'app/dist/main.js'),
    [],
    {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      METRICS_PORT: '0',
      CLAWDBOT_DATA_DIR: dataDir,
      CLAWDBOT_API_KEYS: API_KEY,
      // Saturation is the point here, not the per-key limit.
      RATE_LIMIT_QPS: '1000000',
    },
    `http://127.0.0.1:${gatewayPort}/health`,
  );

  const chat = {
    url: `http://127.0.0.1:${gatewayPort}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
  };
  console.log(`clawdbot bench: ${DURATION_SECONDS} s per run, ${CONNECTIONS} connections, Node ${process.version}, ${os.cpus().length} CPUs`);
  const rows = [];
  try {
    rows.push(await measure('baseline: bare Fastify hello-world, saturation', hello, { url: `http://127.0.0.1:${helloPort}/` }));
    rows.push(await measure('gateway GET /health, saturation', gateway, { url: `http://127.0.0.1:${gatewayPort}/health` }));
    rows.push(await measure('baseline: bare Fastify hello-world, 50 QPS', hello, { url: `http://127.0.0.1:${helloPort}/`, overallRate: 50 }));
    rows.push(await measure('gateway POST /v1/chat/completions (rules), 50 QPS', gateway, { ...chat, overallRate: 50 }));
    rows.push(await measure('gateway POST /v1/chat/completions (rules), saturation', gateway, chat));
  } finally {
    hello.kill();
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const results = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, durationSeconds: DURATION_SECONDS, connections: CONNECTIONS, rows };
  fs.writeFileSync(path.join(__dirname, 'out', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('\n| run | req/s | P50 ms | P99 ms | peak RSS MB | failures |\n|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50ms} | ${r.p99ms} | ${r.peakRssMB} | ${r.failures} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
