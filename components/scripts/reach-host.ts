import { sshTargetFromEnvironment, waitForSsh } from './ssh';

// The first step on a host, run by Pulumi where it runs (a local command): waits until the host
// takes an SSH session with its pinned key (a new instance boots and runs cloud-init for
// minutes), for a bounded time, then fails with what to check (CLAWDBOT_SSH_UNREACHABLE_HINT:
// the tunnel, or the allowed ranges). The remote steps after it dial a host that is known to answer.

/** 45 attempts, 20 s apart, each up to the client's 20 s ready timeout: 15 to 30 minutes, a first boot takes 5 to 10. */
const REACH_ATTEMPTS = 45;
const INTERVAL_MS = 20_000;

async function main(): Promise<void> {
  const target = sshTargetFromEnvironment();
  await waitForSsh(target, {
    attempts: REACH_ATTEMPTS,
    intervalMs: INTERVAL_MS,
    unreachableHint: process.env.CLAWDBOT_SSH_UNREACHABLE_HINT ?? '',
    onRetry: (message) => console.log(message),
  });
  console.log(`${target.host}:${target.port} answers with its pinned host key`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
