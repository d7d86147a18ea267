import { spawn } from 'node:child_process';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Server, utils } from 'ssh2';
import { HostKeyMismatch, runOverSsh, waitForSsh, type SshTarget } from '../../components/scripts/ssh';
import { startTunnel } from '../../infra/ssm-tunnel';

// The SSH client of rollback, teardown and reaching the host: it trusts only the pinned host
// key, and waiting for a host ends, bounded, with what to check. The SSM tunnel carries each
// connection through a session process to the host it looks up per connection.

const hostKeys = utils.generateKeyPairSync('ed25519');
const otherHostKeys = utils.generateKeyPairSync('ed25519');
const clientKeys = utils.generateKeyPairSync('ed25519');

/** An sshd stand-in that accepts any key and answers `echo` commands. */
async function startSshServer(): Promise<{ port: number; close: () => void }> {
  const server = new Server({ hostKeys: [hostKeys.private] }, (client) => {
    client.on('authentication', (context) => context.accept());
    client.on('error', () => undefined);
    client.on('ready', () =>
      client.on('session', (accept) =>
        accept().once('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          channel.write(`ran: ${info.command}\n`);
          channel.exit(0);
          channel.end();
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

let sshd: { port: number; close: () => void };
beforeAll(async () => {
  sshd = await startSshServer();
});
afterAll(() => sshd.close());

const target = (overrides: Partial<SshTarget> = {}): SshTarget => ({ host: '127.0.0.1', port: sshd.port, user: 'ubuntu', privateKey: clientKeys.private, hostKey: hostKeys.public, ...overrides });

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the SSH client', () => {
  it('runs a step on a host that shows the pinned key', async () => {
    await expect(runOverSsh(target(), 'uptime')).resolves.toEqual({ stdout: 'ran: uptime\n', stderr: '' });
  });

  it('refuses a host that shows another key, naming both fingerprints, and sends it nothing', async () => {
    const refused = runOverSsh(target({ hostKey: otherHostKeys.public }), 'uptime');
    await expect(refused).rejects.toBeInstanceOf(HostKeyMismatch);
    await expect(refused).rejects.toThrow(/offered host key SHA256:\S+, not the pinned SHA256:\S+: someone may be in the middle/);
  });

  it('waits for a host, and gives up on a wrong key at once instead of retrying', async () => {
    await expect(waitForSsh(target(), { attempts: 3, intervalMs: 1, unreachableHint: 'unused' })).resolves.toBeUndefined();
    const retries: string[] = [];
    await expect(waitForSsh(target({ hostKey: otherHostKeys.public }), { attempts: 3, intervalMs: 1, unreachableHint: 'unused', onRetry: (m) => retries.push(m) })).rejects.toBeInstanceOf(HostKeyMismatch);
    expect(retries).toEqual([]);
  });

  it('stops waiting for an unreachable host after its attempts, saying what to check', async () => {
    const port = await closedPort();
    const retries: string[] = [];
    await expect(
      waitForSsh(target({ port }), { attempts: 3, intervalMs: 1, unreachableHint: 'Start the tunnel.', onRetry: (m) => retries.push(m) }),
    ).rejects.toThrow(new RegExp(`^no SSH session with ubuntu@127\\.0\\.0\\.1:${port} after 3 attempts \\(last: .*ECONNREFUSED.*\\)\\. Start the tunnel\\.$`));
    expect(retries).toHaveLength(3);
  });
});

describe('the SSM tunnel', () => {
  // Stands in for `aws ssm start-session ... AWS-StartSSHSession`: a process whose stdin/stdout is the host's sshd.
  const sessionTo = (port: number) =>
    spawn(process.execPath, ['-e', `const s = require('net').connect(${port}, '127.0.0.1'); process.stdin.pipe(s); s.pipe(process.stdout); s.on('close', () => process.exit(0));`]);

  it('carries SSH to the instance it looks up per connection, host key checked end to end', async () => {
    const sessions: string[] = [];
    const tunnel = await startTunnel({
      listenPort: 0,
      resolveInstance: async () => 'i-0123456789abcdef0',
      openSession: (instanceId) => {
        sessions.push(instanceId);
        return sessionTo(sshd.port);
      },
      log: () => undefined,
    });
    try {
      const { port } = tunnel.address() as AddressInfo;
      await expect(runOverSsh(target({ port }), 'uptime')).resolves.toEqual({ stdout: 'ran: uptime\n', stderr: '' });
      expect(sessions).toEqual(['i-0123456789abcdef0']);
    } finally {
      tunnel.close();
    }
  });

  it('closes the connection while no instance is behind the Elastic IP, so the caller retries', async () => {
    const logged: string[] = [];
    const tunnel = await startTunnel({ listenPort: 0, resolveInstance: async () => undefined, openSession: () => sessionTo(sshd.port), log: (m) => logged.push(m) });
    try {
      const { port } = tunnel.address() as AddressInfo;
      await expect(waitForSsh(target({ port }), { attempts: 2, intervalMs: 1, unreachableHint: 'Start the tunnel.' })).rejects.toThrow(/after 2 attempts .*Start the tunnel\./);
      expect(logged[0]).toMatch(/no instance behind the stack's Elastic IP yet/);
    } finally {
      tunnel.close();
    }
  });
});
