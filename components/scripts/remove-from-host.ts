import { removeCommand } from './release';
import { runOverSsh } from './ssh';

// The deletion step of a deployment, run by Pulumi where it runs (a local command): stops the
// bot's services on the host over SSH. A host that is already gone (no route, refused, timed
// out, name unknown, no SSH server) has nothing left to stop, so that counts as done; a host
// that another deployment took over (its address moved to a replacement) is left alone by the
// step itself. The connection comes from the environment, the key included, so it never appears
// in a command's text.

/** ssh2's error levels for a host it could not get an SSH session from (as opposed to, say, a refused key). */
const UNREACHABLE_LEVELS = new Set(['client-socket', 'client-timeout', 'client-dns']);

function unreachable(error: Error & { level?: string }): boolean {
  // A TCP peer that hangs up before the SSH banner: no sshd behind the address any more.
  return UNREACHABLE_LEVELS.has(error.level ?? '') || error.message === 'Connection lost before handshake';
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const target = {
    host: required('CLAWDBOT_SSH_HOST'),
    port: Number(required('CLAWDBOT_SSH_PORT')),
    user: required('CLAWDBOT_SSH_USER'),
    privateKey: required('CLAWDBOT_SSH_PRIVATE_KEY'),
  };
  const hostId = required('CLAWDBOT_HOST_ID');
  try {
    const result = await runOverSsh(target, removeCommand(hostId));
    process.stdout.write(result.stdout + result.stderr);
  } catch (error) {
    if (!unreachable(error as Error)) throw error;
    console.log(`${target.host}:${target.port} is unreachable (${(error as Error).message}); nothing left to stop there`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
