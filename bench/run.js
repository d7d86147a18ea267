// `npm run bench`: what the gateway costs beside its baselines, in one run on one machine
// (issue 13's table). Throughput, latency and memory of the built gateway (rules model, memory
// store, info logs, as `npm start` runs it) beside a bare Fastify hello-world (bench/hello.js);
// time to first token and streamed-token throughput through the gateway beside the same fake
// OpenAI-compatible upstream (bench/upstream.js) called directly. Each server is its own process;
// the load comes from this one (bench/load.js). Gateway and baseline runs alternate, PAIRS
// times (a baseline run right before each gateway row), and every figure is the median of its
// runs; a ratio is the median of the pairs' ratios. Results print as a table and go to
// bench/out/results.json (bench/report.js).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CONNECTIONS, DURATION_SECONDS, STREAMS, WARMUP_SECONDS, paced, saturate, streamLoad } = require('./load');
const { API_KEY, freePort, gatewayEnv, memory, sleep, startServer, stopServer } = require('./processes');
const { loadAverage, median, report } = require('./report');

const ROOT = path.resolve(__dirname, '..');
const PAIRS = 3;
const FIXED_RATE = 50;

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
  // Per row, per pair: the gateway's saturate() result and its baseline's, run right before it.
  const saturation = { health: [], hi: [], time: [] };
  const runs = { helloP99: [], chatP99: [] };
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
    const rows = { health: { url: `http://127.0.0.1:${gatewayPort}/health` }, hi: chat('hello'), time: chat('what time is it') };
    for (let pair = 1; pair <= PAIRS; pair++) {
      console.log(`  pair ${pair}/${PAIRS} (load average ${loadAverage()})`);
      // The baseline runs right before each gateway row, not once a pair: this machine's speed
      // drifts over the minute a pair takes (hello-world alone moved 39k -> 21k req/s in four
      // runs), and a row compared with a baseline run 40 s earlier measured the drift.
      for (const [row, options] of Object.entries(rows)) {
        const baseline = await saturate(hello, helloUrl);
        const measured = await saturate(gateway, options);
        saturation[row].push({ gateway: measured, baseline });
      }
      runs.helloP99.push((await paced(helloUrl, FIXED_RATE)).p99);
      runs.chatP99.push((await paced(chat('hello'), FIXED_RATE)).p99);
      const line = Object.entries(saturation)
        .map(([row, results]) => `${row} ${Math.round(results.at(-1).gateway.rps)} / ${Math.round(results.at(-1).baseline.rps)}`)
        .join(', ');
      console.log(`    gateway / hello-world: req/s ${line}; P99 at a steady ${FIXED_RATE} QPS ${runs.chatP99.at(-1).toFixed(1)} / ${runs.helloP99.at(-1).toFixed(1)} ms`);
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
  report(
    { saturation, runs, starts, streams, fixedRate: FIXED_RATE, streamCount: STREAMS },
    { pairs: PAIRS, durationSeconds: DURATION_SECONDS, connections: CONNECTIONS },
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
