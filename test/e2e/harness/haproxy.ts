/**
 * HAProxy (Debian's package) on a loopback port in front of gateway replicas, round robin.
 *
 * It checks /health, not /ready: an ALB routes to every target when all are unhealthy, HAProxy
 * to none, so a /ready check would turn a Redis failover (every replica not ready for a moment)
 * into HAProxy's own 503s, hiding the gateways' answers. A connection refused by a dead replica
 * is retried on another one (retries + redispatch), as an ALB does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestHaproxy {
  url: string;
  stop(): Promise<void>;
}

export async function startHaproxy(dir: string, port: number, backends: string[]): Promise<TestHaproxy> {
  const config = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    config,
    [
      'global',
      '  maxconn 1024',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  retries 3',
      '  option redispatch 1',
      'frontend gateways',
      `  bind 127.0.0.1:${port}`,
      '  default_backend replicas',
      'backend replicas',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  default-server inter 300ms fall 1 rise 1',
      ...backends.map((backend, index) => `  server replica${index + 1} ${new URL(backend).host} check`),
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(`${url}/health`).then((response) => response.status, () => 0);
    if (status === 200) break;
    if (child.exitCode !== null || attempt > 100) {
      child.kill();
      throw new Error(`haproxy did not start:\n${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
