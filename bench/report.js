// bench/run.js's results: the medians of its runs as issue 13's table, printed and written to
// bench/out/results.json.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const MB = 1024 * 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ratio = (a, b) => (a / b).toFixed(2);
const number = (value) => (value >= 100 ? String(Math.round(value)) : value.toFixed(1));

/** [name, gateway, baseline, ratio or added, goal] for every row of the table. */
function tableRows({ runs, starts, streams, fixedRate, streamCount }) {
  const m = median;
  const streamMedian = (side, field) => m(streams[side].map((run) => run[field]));
  const added = (field) => m(streams.gateway.map((run, i) => run[field] - streams.direct[i][field]));
  const versus = (gateway, baseline) => [m(gateway), m(baseline), ratio(m(gateway), m(baseline))];
  return [
    ['GET /health req/s / bare Fastify', ...versus(runs.healthRps, runs.helloRps), '>= 0.70'],
    ['POST /v1/chat/completions "hello" req/s / bare Fastify', ...versus(runs.hiRps, runs.helloRps), '>= 0.40'],
    ['the same with "what time is it" / bare Fastify', ...versus(runs.timeRps, runs.helloRps), '>= 0.40'],
    [`P99 ms at a steady ${fixedRate} QPS (chat "hello" / hello-world), added`, m(runs.chatP99), m(runs.helloP99), `+${(m(runs.chatP99) - m(runs.helloP99)).toFixed(1)} ms`, '< 2 ms'],
    ['peak RSS MB under saturation, chat "hello"', m(runs.hiPeak) / MB, m(runs.helloPeak) / MB, ratio(m(runs.hiPeak), m(runs.helloPeak)), '< 120 MB'],
    ['peak RSS MB under saturation, chat "what time is it"', m(runs.timePeak) / MB, m(runs.helloPeak) / MB, ratio(m(runs.timePeak), m(runs.helloPeak)), '< 120 MB'],
    ['RSS MB at rest', m(starts.gatewayRest) / MB, m(starts.helloRest) / MB, ratio(m(starts.gatewayRest), m(starts.helloRest)), '< 70 MB'],
    ['cold start to first /health 200, ms', ...versus(starts.gateway, starts.hello), '< 300 ms'],
    [`TTFT P50 ms, ${streamCount} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP50'), streamMedian('direct', 'ttftP50'), `+${added('ttftP50').toFixed(1)} ms`, '< 2 ms'],
    [`TTFT P99 ms, ${streamCount} streams (gateway / direct), added`, streamMedian('gateway', 'ttftP99'), streamMedian('direct', 'ttftP99'), `+${added('ttftP99').toFixed(1)} ms`, '< 5 ms'],
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
