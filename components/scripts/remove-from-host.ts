import { removeCommand } from './release';
import { HostKeyMismatch, runOverSsh, sshTargetFromEnvironment } from './ssh';

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

async function main(): Promise<void> {
  const target = sshTargetFromEnvironment();
  const hostId = process.env.CLAWDBOT_HOST_ID;
  if (!hostId) throw new Error('CLAWDBOT_HOST_ID is not set');
  try {
    const result = await runOverSsh(target, removeCommand(hostId));
    process.stdout.write(result.stdout + result.stderr);
  } catch (error) {
    // Another key at the address: the host this step was made for is gone (a replacement holds
    // its Elastic IP), and nothing is sent to a host the step cannot trust.
    if (error instanceof HostKeyMismatch) {
      console.log(`${error.message}; the host this step was made for is gone, nothing to stop`);
      return;
    }
    if (!unreachable(error as Error)) throw error;
    console.log(`${target.host}:${target.port} is unreachable (${(error as Error).message}); nothing left to stop there`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
