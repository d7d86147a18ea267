// bench/run.js's results: the medians of its runs as issue 13's table, printed and written to
// bench/out/results.json.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const MB = 1024 * 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ratio = (a, b) => (a / b).toFixed(2);
const number = (value) => (value >= 100 ? String(Math.round(value)) : value >= 1 ? value.toFixed(1) : value.toFixed(2));
const signedMs = (value) => `${value >= 0 ? '+' : ''}${value.toFixed(1)} ms`;

/** [name, gateway, baseline, ratio or added, goal] for every row of the table. */
function tableRows({ saturation, runs, starts, streams, fixedRate, streamCount }) {
  const m = median;
  const streamMedian = (side, field) => m(streams[side].map((run) => run[field]));
  const added = (field) => m(streams.gateway.map((run, i) => run[field] - streams.direct[i][field]));
  const versus = (gateway, baseline) => [m(gateway), m(baseline), ratio(m(gateway), m(baseline))];
  // A saturation row: the medians of the gateway's and of its baselines' figures, and the median
  // of each pair's ratio (gateway / baseline, or baseline / gateway for a cost).
  const paired = (row, field, cost = false) => {
    const pairs = saturation[row];
    const ratios = pairs.map(({ gateway, baseline }) => (cost ? baseline[field] / gateway[field] : gateway[field] / baseline[field]));
    return [m(pairs.map((pair) => pair.gateway[field])), m(pairs.map((pair) => pair.baseline[field])), m(ratios).toFixed(2)];
  };
  const peakRss = (row) => m(saturation[row].map((pair) => pair.gateway.peakRss)) / MB;
  const baselinePeakRss = m(Object.values(saturation).flatMap((pairs) => pairs.map((pair) => pair.baseline.peakRss))) / MB;
  return [
    ['GET /health req/s / bare Fastify', ...paired('health', 'rps'), '>= 0.70'],
    ['POST /v1/chat/completions "hello" req/s / bare Fastify', ...paired('hi', 'rps'), '>= 0.40'],
    ['the same with "what time is it" / bare Fastify', ...paired('time', 'rps'), '>= 0.40'],
    ['server CPU µs per request, GET /health (bare Fastify / gateway)', ...paired('health', 'cpuPerRequestUs', true), ''],
    ['server CPU µs per request, chat "hello" (bare Fastify / gateway)', ...paired('hi', 'cpuPerRequestUs', true), ''],
    ['server CPU µs per request, chat "what time is it" (bare Fastify / gateway)', ...paired('time', 'cpuPerRequestUs', true), ''],
    ['load generator sleeps per request, GET /health (gateway / bare Fastify)', ...paired('health', 'clientSleepsPerRequest').slice(0, 2), '', ''],
    [`P99 ms at a steady ${fixedRate} QPS (chat "hello" / hello-world), added`, m(runs.chatP99), m(runs.helloP99), signedMs(m(runs.chatP99) - m(runs.helloP99)), '< 2 ms'],
    ['peak RSS MB under saturation, chat "hello"', peakRss('hi'), baselinePeakRss, ratio(peakRss('hi'), baselinePeakRss), '< 120 MB'],
    ['peak RSS MB under saturation, chat "what time is it"', peakRss('time'), baselinePeakRss, ratio(peakRss('time'), baselinePeakRss), '< 120 MB'],
    ['RSS MB at rest', m(starts.gatewayRest) / MB, m(starts.helloRest) / MB, ratio(m(starts.gatewayRest), m(starts.helloRest)), '< 70 MB'],
    ['cold start to first /health 200, ms', ...versus(starts.gateway, starts.hello), '< 300 ms'],
    [`TTFT P50 ms, ${streamCount} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP50'), streamMedian('direct', 'ttftP50'), signedMs(added('ttftP50')), '< 2 ms'],
    [`TTFT P99 ms, ${streamCount} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP99'), streamMedian('direct', 'ttftP99'), signedMs(added('ttftP99')), '< 5 ms'],
    ['streamed tokens/s (gateway / direct)', streamMedian('gateway', 'tokensPerSecond'), streamMedian('direct', 'tokensPerSecond'), ratio(streamMedian('gateway', 'tokensPerSecond'), streamMedian('direct', 'tokensPerSecond')), '>= 0.90'],
  ];
}

/** Prints the table and writes it, with every run, to bench/out/results.json. */
function report(measured, setup) {
  const rows = tableRows(measured);
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverageAtEnd: os.loadavg(),
    ...setup,
    ...measured,
    rows: rows.map(([name, gateway, baseline, versus, goal]) => ({ name, gateway, baseline, versus, goal })),
  };
  fs.writeFileSync(path.join(__dirname, 'out', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nmedians of ${setup.pairs} interleaved pairs; load average at the end ${loadAverage()}\n`);
  console.log('| measurement | gateway | baseline | ratio / added | goal |\n|---|---:|---:|---:|---:|');
  for (const [name, gateway, baseline, versus, goal] of rows) console.log(`| ${name} | ${number(gateway)} | ${number(baseline)} | ${versus} | ${goal} |`);
}

const loadAverage = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

module.exports = { median, report, loadAverage };
