/**
 * A throwaway redis-server (Debian's package) on a free loopback port, with no persistence.
 *
 *   const redis = await startRedis();   // redis.url = redis://127.0.0.1:<port>
 *   redis.signal('SIGSTOP');            // outages: SIGKILL (gone), SIGSTOP/SIGCONT (hung)
 *   const again = await startRedis(redis.port);
 *   await redis.stop();
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface TestRedis {
  url: string;
  port: number;
  /** Sends a signal to the server process. */
  signal(signal: NodeJS.Signals): void;
  /** Stops the server (resuming it first if it was stopped with SIGSTOP). */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts redis-server on `port` (a free one by default) and waits until it answers PING.
 * `settings` are more command-line settings (`['--maxmemory', '2mb']`).
 */
export async function startRedis(port?: number, settings: string[] = []): Promise<TestRedis> {
  port ??= await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...settings], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; !(await answersPing(port)); attempt++) {
    if (child.exitCode !== null || attempt > 100) {
      child.kill();
      throw new Error(`redis-server did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
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
