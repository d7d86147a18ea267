// The three kinds of load bench/run.js applies: saturation (autocannon), a steady fixed rate
// (a paced client of its own), and concurrent SSE streams.
'use strict';
const http = require('node:http');
const autocannon = require('autocannon');
const { cpuMicros, loadGeneratorSleeps, memory, resetPeakRss } = require('./processes');
const { ANSWER_MS: UPSTREAM_ANSWER_MS } = require('./upstream');

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const CONNECTIONS = 50;
const STREAMS = 50;
const STREAM_SECONDS = 8;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/**
 * Saturation: CONNECTIONS autocannon connections. Peak RSS is the server's over the run, and
 * cpuPerRequestUs the CPU time the server's process spent per request (all its threads, user
 * and system), both warm-up included. The CPU figure is the server's own cost: unlike req/s,
 * it does not depend on how much of the two cores the load generator took. clientSleepsPerRequest
 * is how often this process's main thread (autocannon's) went to sleep per request: near 1 when the
 * server is slower than the load generator, which then waits for each response, and the
 * server's write of that response pays for waking it (bench/RESULTS.md, tenth session).
 */
async function saturate(server, options) {
  resetPeakRss(server.pid);
  const cpuBefore = cpuMicros(server.pid);
  const sleepsBefore = loadGeneratorSleeps();
  const result = await autocannon({
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    warmup: { connections: CONNECTIONS, duration: WARMUP_SECONDS },
    ...options,
  });
  const requests = result.requests.total + (result.warmup?.requests.total ?? 0);
  const cpuPerRequestUs = (cpuMicros(server.pid) - cpuBefore) / requests;
  const clientSleepsPerRequest = (loadGeneratorSleeps() - sleepsBefore) / requests;
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0) console.log(`    ${failures} failed requests`);
  return { rps: result.requests.average, peakRss: memory(server.pid).peak, cpuPerRequestUs, clientSleepsPerRequest, failures };
}

/** One request on `agent`; resolves with its status once the whole response has arrived. */
function send(agent, { url, method = 'GET', headers = {}, body }) {
  return new Promise((resolve) => {
    const request = http.request(url, { method, agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
    request.end(body);
  });
}

/**
 * A steady `rate` requests a second for DURATION_SECONDS (after WARMUP_SECONDS at the same
 * rate): request i is sent at start + i / rate, on a pool of keep-alive connections, without
 * waiting for earlier answers (so a slow answer delays no later request). autocannon's
 * overallRate is no steady rate: it gives each connection rate / connections requests a second,
 * all released at the same instant, so 50 QPS on 50 connections was a burst of 50 concurrent
 * requests once a second, and its P99 measured how long the 50th waited behind the others.
 */
async function paced(options, rate) {
  const agent = new http.Agent({ keepAlive: true });
  const latencies = [];
  let failures = 0;
  const run = async (seconds, record) => {
    const startedAt = performance.now();
    const pending = [];
    for (let i = 0; i < seconds * rate; i++) {
      const due = startedAt + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = performance.now();
      pending.push(
        send(agent, options).then((status) => {
          if (!record) return;
          if (status < 200 || status >= 300) failures += 1;
          latencies.push(performance.now() - sentAt);
        }),
      );
    }
    await Promise.all(pending);
  };
  await run(WARMUP_SECONDS, false);
  await run(DURATION_SECONDS, true);
  agent.destroy();
  if (failures > 0) console.log(`    ${failures} failed requests`);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), failures };
}

/**
 * STREAMS clients that each open one streamed completion after the other for STREAM_SECONDS:
 * the time from sending the request to the first content chunk, and content chunks received
 * a second over all streams. Client i opens its first stream i / STREAMS of an answer's time
 * after the first: started together, the clients stayed in step (every answer takes as long),
 * so the requests came as a burst of 50 within a few milliseconds once an answer, and the TTFT
 * P99 measured how long the 50th of a burst waited behind the other 49, as autocannon's
 * overallRate did for the fixed-rate row (see paced()).
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
    Array.from({ length: STREAMS }, async (_, client) => {
      await new Promise((resolve) => setTimeout(resolve, (client * UPSTREAM_ANSWER_MS) / STREAMS));
      while (performance.now() < until) await one();
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  agent.destroy();
  if (failures > 0) console.log(`    ${failures} failed streams`);
  ttfts.sort((a, b) => a - b);
  return { ttftP50: percentile(ttfts, 0.5), ttftP99: percentile(ttfts, 0.99), tokensPerSecond: tokens / seconds, failures };
}

module.exports = { DURATION_SECONDS, WARMUP_SECONDS, CONNECTIONS, STREAMS, saturate, paced, streamLoad };
