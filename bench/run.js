// `npm run bench`: what the gateway costs beside its baselines, in one run on one machine
// (issue 13's table). Throughput, latency and memory of the built gateway (rules model, memory
// store, info logs, as `npm start` runs it) beside a bare Fastify hello-world (bench/hello.js);
// time to first token and streamed-token throughput through the gateway beside the same fake
// OpenAI-compatible upstream (bench/upstream.js) called directly. Each server is its own process;
// the load comes from this one. Gateway and baseline runs alternate, PAIRS times, and every
// figure is the median of its runs. Results print as a table and go to bench/out/results.json.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const ROOT = path.resolve(__dirname, '..');
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const PAIRS = 3;
const CONNECTIONS = 50;
const FIXED_RATE = 50;
const STREAMS = 50;
const STREAM_SECONDS = 8;
const API_KEY = 'bench-key-0123456789abcdef';
const MB = 1024 * 1024;

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** VmRSS (now) and VmHWM (peak since start or the last resetPeakRss) of a process, in bytes. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]) * 1024;
  return { rss: kB('VmRSS'), peak: kB('VmHWM') };
}

/** Starts VmHWM again from the current RSS (proc(5), clear_refs). */
const resetPeakRss = (pid) => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a server process; resolves once `readyUrl` answers 200, with the time that took. */
async function startServer(script, args, env, readyUrl) {
  const startedAt = performance.now();
  const child = fork(script, args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  for (;;) {
    try {
      if ((await fetch(readyUrl)).ok) return { child, coldStartMs: performance.now() - startedAt };
    } catch {
      // not listening yet
    }
    if (performance.now() - startedAt > 20_000 || child.exitCode !== null) throw new Error(`${script} did not start`);
    await sleep(5);
  }
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One autocannon run; peak RSS is the server's over the run, warm-up included. */
async function load(server, options) {
  resetPeakRss(server.pid);
  const result = await autocannon({
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    warmup: { connections: CONNECTIONS, duration: WARMUP_SECONDS },
    ...options,
  });
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0) console.log(`    ${failures} failed requests`);
  return { rps: result.requests.average, p99: result.latency.p99, peakRss: memory(server.pid).peak, failures };
}

/**
 * STREAMS clients that each open one streamed completion after the other for STREAM_SECONDS:
 * the time from sending the request to the first content chunk, and content chunks received
 * a second over all streams.
 */
async function streamLoad(url, headers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
  const body = JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'tell me a story' }] });
  const ttfts = [];
  let tokens = 0;
  let failures = 0;
  const one = () =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      let first = true;
      const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
        if (response.statusCode !== 200) failures += 1;
        response.setEncoding('utf8');
        response.on('data', (text) => {
          const chunks = text.split('"content":').length - 1;
          if (chunks > 0 && first) {
            ttfts.push(performance.now() - sentAt);
            first = false;
          }
          tokens += chunks;
        });
        response.on('end', resolve);
        response.on('error', resolve);
      });
      request.on('error', () => {
        failures += 1;
        resolve();
      });
      request.end(body);
    });
  const startedAt = performance.now();
  const until = startedAt + STREAM_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      while (performance.now() < until) await one();
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  agent.destroy();
  if (failures > 0) console.log(`    ${failures} failed streams`);
  ttfts.sort((a, b) => a - b);
  return { ttftP50: percentile(ttfts, 0.5), ttftP99: percentile(ttfts, 0.99), tokensPerSecond: tokens / seconds, failures };
}

function gatewayEnv(port, dataDir, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: String(port),
    METRICS_PORT: '0',
    CLAWDBOT_DATA_DIR: dataDir,
    CLAWDBOT_API_KEYS: API_KEY,
    // Saturation is the point here, not the per-key limit.
    RATE_LIMIT_QPS: '1000000',
    ...extra,
  };
}

const loadAverage = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

async function main() {
  const dataDirs = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-bench-'));
    dataDirs.push(dir);
    return dir;
  };
  const helloScript = path.join(__dirname, 'hello.js');
  const gatewayScript = path.join(ROOT, 'app/dist/main.js');
  const children = [];
  const started = async (...args) => {
    const server = await startServer(...args);
    children.push(server.child);
    return server;
  };
  console.log(
    `clawdbot bench: ${PAIRS} pairs, ${WARMUP_SECONDS} + ${DURATION_SECONDS} s per run, ${CONNECTIONS} connections, ` +
      `Node ${process.version}, ${os.cpus().length} CPUs, load average ${loadAverage()}`,
  );
  const runs = { helloRps: [], healthRps: [], hiRps: [], timeRps: [], helloPeak: [], hiPeak: [], timePeak: [], helloP99: [], chatP99: [] };
  const starts = { hello: [], gateway: [], helloRest: [], gatewayRest: [] };
  const streams = { direct: [], gateway: [] };
  try {
    // Cold start and RSS at rest: fresh processes, alternating.
    for (let pair = 0; pair < PAIRS; pair++) {
      const helloPort = await freePort();
      const hello = await started(helloScript, [String(helloPort)], process.env, `http://127.0.0.1:${helloPort}/`);
      const gatewayPort = await freePort();
      const gateway = await started(gatewayScript, [], gatewayEnv(gatewayPort, dataDir()), `http://127.0.0.1:${gatewayPort}/health`);
      await sleep(1000);
      starts.hello.push(hello.coldStartMs);
      starts.gateway.push(gateway.coldStartMs);
      starts.helloRest.push(memory(hello.child.pid).rss);
      starts.gatewayRest.push(memory(gateway.child.pid).rss);
      await Promise.all([stopServer(hello.child), stopServer(gateway.child)]);
    }
    console.log(`  cold start: gateway ${median(starts.gateway).toFixed(0)} ms, hello-world ${median(starts.hello).toFixed(0)} ms`);

    const helloPort = await freePort();
    const gatewayPort = await freePort();
    const { child: hello } = await started(helloScript, [String(helloPort)], process.env, `http://127.0.0.1:${helloPort}/`);
    const { child: gateway } = await started(gatewayScript, [], gatewayEnv(gatewayPort, dataDir()), `http://127.0.0.1:${gatewayPort}/health`);
    const chat = (content) => ({
      url: `http://127.0.0.1:${gatewayPort}/v1/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ messages: [{ role: 'user', content }] }),
    });
    const helloUrl = { url: `http://127.0.0.1:${helloPort}/` };
    for (let pair = 1; pair <= PAIRS; pair++) {
      console.log(`  pair ${pair}/${PAIRS} (load average ${loadAverage()})`);
      const base = await load(hello, helloUrl);
      runs.helloRps.push(base.rps);
      runs.helloPeak.push(base.peakRss);
      runs.healthRps.push((await load(gateway, { url: `http://127.0.0.1:${gatewayPort}/health` })).rps);
      const hi = await load(gateway, chat('hello'));
      runs.hiRps.push(hi.rps);
      runs.hiPeak.push(hi.peakRss);
      const time = await load(gateway, chat('what time is it'));
      runs.timeRps.push(time.rps);
      runs.timePeak.push(time.peakRss);
      runs.helloP99.push((await load(hello, { ...helloUrl, overallRate: FIXED_RATE })).p99);
      runs.chatP99.push((await load(gateway, { ...chat('hello'), overallRate: FIXED_RATE })).p99);
      console.log(
        `    req/s hello-world ${Math.round(base.rps)}, /health ${Math.round(runs.healthRps.at(-1))}, chat "hello" ${Math.round(hi.rps)}, ` +
          `"what time is it" ${Math.round(time.rps)}; P99 at ${FIXED_RATE} QPS ${runs.helloP99.at(-1)} / ${runs.chatP99.at(-1)} ms`,
      );
    }
    await Promise.all([stopServer(hello), stopServer(gateway)]);

    // Streaming: the same upstream, directly and through a gateway that sends everything to it.
    const upstreamPort = await freePort();
    await started(path.join(__dirname, 'upstream.js'), [String(upstreamPort)], process.env, `http://127.0.0.1:${upstreamPort}/`);
    const streamingPort = await freePort();
    await started(
      gatewayScript,
      [],
      gatewayEnv(streamingPort, dataDir(), {
        MODEL_PROVIDER: 'openai',
        MODEL_NAME: 'bench-model',
        MODEL_ENDPOINT: `http://127.0.0.1:${upstreamPort}/v1`,
        MODEL_API_KEY: 'sk-bench-upstream-0123456789',
        ROUTING: 'llm',
        CACHE_TTL_SECONDS: '0',
      }),
      `http://127.0.0.1:${streamingPort}/health`,
    );
    const direct = () => streamLoad(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`, {});
    const through = () => streamLoad(`http://127.0.0.1:${streamingPort}/v1/chat/completions`, { authorization: `Bearer ${API_KEY}` });
    await through(); // warm-up: JIT, connections, the SDK's first load
    for (let pair = 1; pair <= PAIRS; pair++) {
      streams.direct.push(await direct());
      streams.gateway.push(await through());
      const [d, g] = [streams.direct.at(-1), streams.gateway.at(-1)];
      console.log(
        `  streams pair ${pair}/${PAIRS}: TTFT P50 ${d.ttftP50.toFixed(1)} / ${g.ttftP50.toFixed(1)} ms, P99 ${d.ttftP99.toFixed(1)} / ${g.ttftP99.toFixed(1)} ms, ` +
          `tokens/s ${Math.round(d.tokensPerSecond)} / ${Math.round(g.tokensPerSecond)} (direct / gateway)`,
      );
    }
  } finally {
    await Promise.all(children.map(stopServer));
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }

  const m = (values) => median(values);
  const streamMedian = (side, field) => m(streams[side].map((run) => run[field]));
  const added = (field) => m(streams.gateway.map((run, i) => run[field] - streams.direct[i][field]));
  const ratio = (a, b) => (a / b).toFixed(2);
  const rows = [
    ['GET /health req/s / bare Fastify', m(runs.healthRps), m(runs.helloRps), ratio(m(runs.healthRps), m(runs.helloRps)), '>= 0.70'],
    ['POST /v1/chat/completions "hello" req/s / bare Fastify', m(runs.hiRps), m(runs.helloRps), ratio(m(runs.hiRps), m(runs.helloRps)), '>= 0.40'],
    ['the same with "what time is it" / bare Fastify', m(runs.timeRps), m(runs.helloRps), ratio(m(runs.timeRps), m(runs.helloRps)), '>= 0.40'],
    [`P99 ms at a fixed ${FIXED_RATE} QPS (chat "hello" / hello-world), added`, m(runs.chatP99), m(runs.helloP99), `+${(m(runs.chatP99) - m(runs.helloP99)).toFixed(1)} ms`, '< 2 ms'],
    ['peak RSS MB under saturation, chat "hello"', m(runs.hiPeak) / MB, m(runs.helloPeak) / MB, ratio(m(runs.hiPeak), m(runs.helloPeak)), '< 120 MB'],
    ['peak RSS MB under saturation, chat "what time is it"', m(runs.timePeak) / MB, m(runs.helloPeak) / MB, ratio(m(runs.timePeak), m(runs.helloPeak)), '< 120 MB'],
    ['RSS MB at rest', m(starts.gatewayRest) / MB, m(starts.helloRest) / MB, ratio(m(starts.gatewayRest), m(starts.helloRest)), '< 70 MB'],
    ['cold start to first /health 200, ms', m(starts.gateway), m(starts.hello), ratio(m(starts.gateway), m(starts.hello)), '< 300 ms'],
    [`TTFT P50 ms, ${STREAMS} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP50'), streamMedian('direct', 'ttftP50'), `+${added('ttftP50').toFixed(1)} ms`, '< 2 ms'],
    [`TTFT P99 ms, ${STREAMS} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP99'), streamMedian('direct', 'ttftP99'), `+${added('ttftP99').toFixed(1)} ms`, '< 5 ms'],
    ['streamed tokens/s (gateway / direct)', streamMedian('gateway', 'tokensPerSecond'), streamMedian('direct', 'tokensPerSecond'), ratio(streamMedian('gateway', 'tokensPerSecond'), streamMedian('direct', 'tokensPerSecond')), '>= 0.90'],
  ];
  const number = (value) => (value >= 100 ? String(Math.round(value)) : value.toFixed(1));
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverageAtEnd: os.loadavg(),
    pairs: PAIRS,
    durationSeconds: DURATION_SECONDS,
    connections: CONNECTIONS,
    runs,
    starts,
    streams,
    rows: rows.map(([name, gateway, baseline, versus, goal]) => ({ name, gateway, baseline, versus, goal })),
  };
  fs.writeFileSync(path.join(__dirname, 'out', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nmedians of ${PAIRS} interleaved pairs; load average at the end ${loadAverage()}\n`);
  console.log('| measurement | gateway | baseline | ratio / added | goal |\n|---|---:|---:|---:|---:|');
  for (const [name, gateway, baseline, versus, goal] of rows) console.log(`| ${name} | ${number(gateway)} | ${number(baseline)} | ${versus} | ${goal} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
