// The server processes bench/run.js measures: starting and stopping them, their memory, and
// the gateway's environment.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

const API_KEY = 'bench-key-0123456789abcdef';

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

// proc(5): utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ, 100
// on Linux); counted from after the command name, which may hold spaces.
const TICK_MICROS = 10_000;

/** The CPU time a process has used so far (user and system, all threads), in microseconds. */
function cpuMicros(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/**
 * How many times this process's main thread (the load generator: autocannon runs on it) has gone
 * to sleep waiting for something so far: its voluntary_ctxt_switches (proc(5)).
 */
const loadGeneratorSleeps = () => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);

/** Starts VmHWM again from the current RSS (proc(5), clear_refs). */
const resetPeakRss = (pid) => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');

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

/** The gateway as `npm start` runs it, on `port`, with the per-key rate limit out of the way. */
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

module.exports = { API_KEY, cpuMicros, freePort, loadGeneratorSleeps, memory, resetPeakRss, sleep, startServer, stopServer, gatewayEnv };
