import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

// `npx tsx infra/ssm-tunnel.ts <stack>`: the way in to a host with `sshAccess: ssm`, which has no
// inbound SSH rule at all. It listens on 127.0.0.1:SSM_TUNNEL_PORT, where the stack's SSH
// connections go, and carries each connection through an SSM Session Manager session
// (AWS-StartSSHSession) to sshd on the host. The host is looked up per connection (the instance
// the stack's Elastic IP is attached to), so the tunnel can start before the first `pulumi up`
// and follows a replaced instance as the Elastic IP does. Needs the AWS CLI, its Session Manager
// plugin, and ec2:DescribeAddresses + ssm:StartSession. Runs until stopped.

/** Where a stack with `sshAccess: ssm` dials SSH: this machine's end of the tunnel. */
export const SSM_TUNNEL_PORT = 12222;

export interface TunnelArgs {
  listenPort: number;
  /** The instance to reach now, or undefined while there is none (the connection is then closed). */
  resolveInstance: () => Promise<string | undefined>;
  /** A process whose stdin/stdout is a byte stream to the host's sshd. */
  openSession: (instanceId: string) => ChildProcessWithoutNullStreams;
  log: (message: string) => void;
}

/** Starts the listener; resolves once it listens. */
export async function startTunnel(args: TunnelArgs): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    args.resolveInstance().then(
      (instanceId) => {
        if (!instanceId) {
          args.log('no instance behind the stack\'s Elastic IP yet; closing the connection');
          socket.destroy();
          return;
        }
        const session = args.openSession(instanceId);
        session.stderr.on('data', (chunk: Buffer) => args.log(`${instanceId}: ${chunk.toString().trim()}`));
        session.on('error', (error) => {
          args.log(`${instanceId}: ${error.message}`);
          socket.destroy();
        });
        session.on('close', () => socket.destroy());
        socket.on('close', () => session.kill());
        socket.pipe(session.stdin).on('error', () => socket.destroy());
        session.stdout.pipe(socket);
      },
      (error: Error) => {
        args.log(`looking up the instance failed: ${error.message}`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(args.listenPort, '127.0.0.1', resolve));
  return server;
}

/** What the tunnel needs from a stack's settings: Pulumi.<stack>.yaml over Pulumi.yaml's defaults. */
export interface TunnelSettings {
  project: string;
  region: string;
  sshPort: number;
  /** False when the stack reaches its host directly (or is a machine of yours): no tunnel. */
  needed: boolean;
}

export function readTunnelSettings(stack: string, root = path.join(__dirname, '..')): TunnelSettings {
  const project = parse(readFileSync(path.join(root, 'Pulumi.yaml'), 'utf8'));
  const values: Record<string, unknown> = parse(readFileSync(path.join(root, `Pulumi.${stack}.yaml`), 'utf8'))?.config ?? {};
  const setting = (key: string) => values[`${project.name}:${key}`] ?? project.config[key]?.default;
  const region = values['aws:region'];
  if (typeof region !== 'string' || region === '') throw new Error(`Pulumi.${stack}.yaml: aws:region is not set`);
  return { project: project.name, region, sshPort: Number(setting('sshPort')), needed: setting('target') === 'aws' && setting('sshAccess') === 'ssm' };
}

const run = promisify(execFile);

/** The instance the stack's Elastic IP is attached to (the provider's default tags name the stack). */
async function instanceBehindElasticIp(settings: TunnelSettings, stack: string): Promise<string | undefined> {
  const { stdout } = await run('aws', [
    'ec2', 'describe-addresses', '--region', settings.region,
    '--filters', `Name=tag:Project,Values=${settings.project}`, `Name=tag:Stack,Values=${stack}`,
    '--query', 'Addresses[0].InstanceId', '--output', 'text',
  ]);
  const id = stdout.trim();
  return id.startsWith('i-') ? id : undefined;
}

async function main(): Promise<void> {
  const [stack, ...extra] = process.argv.slice(2);
  if (!stack || extra.length > 0) throw new Error('usage: npx tsx infra/ssm-tunnel.ts <stack>');
  const settings = readTunnelSettings(stack);
  if (!settings.needed) {
    console.log(`stack ${stack} does not use sshAccess ssm: no tunnel needed`);
    return;
  }
  await startTunnel({
    listenPort: SSM_TUNNEL_PORT,
    resolveInstance: () => instanceBehindElasticIp(settings, stack),
    openSession: (instanceId) =>
      spawn('aws', ['ssm', 'start-session', '--region', settings.region, '--target', instanceId, '--document-name', 'AWS-StartSSHSession', '--parameters', `portNumber=${settings.sshPort}`]),
    log: (message) => console.error(message),
  });
  console.log(`127.0.0.1:${SSM_TUNNEL_PORT} → sshd (port ${settings.sshPort}) of stack ${stack}'s host, through SSM Session Manager`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
