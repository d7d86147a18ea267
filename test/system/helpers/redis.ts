/**
 * A throwaway redis-server (Debian's package) on a free loopback port, with no persistence.
 *
 *   const redis = await startRedis();   // redis.url = redis://127.0.0.1:<port>
 *   redis.signal('SIGSTOP');            // outages: SIGKILL (gone), SIGSTOP/SIGCONT (hung)
 *   const again = await startRedis(redis.port);
 *   await redis.stop();
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestRedis {
  url: string;
  port: number;
  /** Sends a signal to the server process. */
  signal(signal: NodeJS.Signals): void;
  /** Stops the server (resuming it first if it was stopped with SIGSTOP). */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Spawns redis-server with `args` and waits until it answers PING on `port`. It runs in a
 * directory of its own: a primary writes an RDB file there for its replicas to sync from.
 */
async function spawnRedis(host: string, port: number, args: string[]): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-redis-'));
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (let attempt = 0; !(await answersPing(host, port)); attempt++) {
    if (child.exitCode !== null || attempt > 100) {
      child.kill();
      throw new Error(`redis-server did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://${host}:${port}`,
    port,
    signal: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      }
      await exited;
    },
  };
}

/**
 * Starts redis-server on `port` (a free one by default) and waits until it answers PING.
 * `settings` are more command-line settings (`['--maxmemory', '2mb']`, `['--replicaof', ...]`).
 * `host` is the address it binds: another than loopback for clients in other network namespaces
 * (protected mode is off, or Redis would refuse those clients for want of a password).
 */
export async function startRedis(port?: number, settings: string[] = [], host = '127.0.0.1'): Promise<TestRedis> {
  port ??= await freePort();
  return spawnRedis(host, port, ['--port', String(port), '--bind', host, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', ...settings]);
}

/**
 * A Sentinel (redis-server --sentinel) watching the primary at `host`:`primaryPort` under `name`,
 * quick to act: the primary counts as down after 1 s. Sentinel rewrites its config file, so it
 * gets its own in `dir`. It binds `host` too, and hands out the addresses it knows the primary and
 * replicas by.
 */
export async function startSentinel(dir: string, primaryPort: number, name: string, host = '127.0.0.1'): Promise<TestRedis> {
  const port = await freePort();
  const config = path.join(dir, `sentinel-${port}.conf`);
  fs.writeFileSync(
    config,
    [
      `port ${port}`,
      `bind ${host}`,
      'protected-mode no',
      `sentinel monitor ${name} ${host} ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  return spawnRedis(host, port, [config, '--sentinel']);
}
