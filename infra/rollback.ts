import * as path from 'node:path';
import { LocalWorkspace } from '@pulumi/pulumi/automation';
import type { RollbackTarget } from '../components/single-host/deployment';
import { rollbackCommand } from '../components/scripts/release';
import { DEFAULT_HOST_STEP_SETTINGS } from '../components/scripts/render';
import { runOverSsh, StepFailed } from '../components/scripts/ssh';

// `npm run rollback -- <stack> [release]`: returns the stack's host to a release it keeps (the
// one live before the current when none is named), with the same zero-downtime switch as a
// deploy. The host comes from the stack's `rollbackTarget` output, the SSH key from its
// `sshPrivateKey` secret config; the Pulumi CLI reads both.

export const ROLLBACK_OUTPUT = 'rollbackTarget';
export const SSH_KEY_CONFIG = 'clawdbot:sshPrivateKey';
const USAGE = 'usage: npm run rollback -- <stack> [release]';
const RELEASE_ID = /^r[0-9a-f]{12}$/;

export interface RollbackRequest {
  stack: string;
  release?: string;
}

/** Reads the command line; throws a message that says what is wrong. */
export function parseRollbackArgs(argv: string[]): RollbackRequest {
  const [stack, release, ...extra] = argv;
  if (!stack || extra.length > 0) throw new Error(USAGE);
  if (release !== undefined && !RELEASE_ID.test(release)) throw new Error(`release: ${JSON.stringify(release)} is not a release id (r + 12 hex digits, as the host's releases/history lists them)`);
  return { stack, release };
}

/** Runs the rollback step on the host, streaming its output. */
async function rollbackOnHost(target: RollbackTarget, privateKey: string, release: string | undefined, write: (chunk: string) => void): Promise<void> {
  const settings = { ...DEFAULT_HOST_STEP_SETTINGS, keepReleases: target.keepReleases, healthTimeoutSeconds: target.healthTimeoutSeconds };
  await runOverSsh({ host: target.host, port: target.port, user: target.user, privateKey, hostKey: target.hostKey }, rollbackCommand(release, settings), { onOutput: write });
}

async function main(): Promise<void> {
  const request = parseRollbackArgs(process.argv.slice(2));
  const stack = await LocalWorkspace.selectStack({ stackName: request.stack, workDir: path.join(__dirname, '..') }).catch((error: Error) => {
    throw /spawn pulumi ENOENT/.test(error.message) ? new Error('npm run rollback reads the stack with the Pulumi CLI: install it (https://www.pulumi.com/docs/install/)') : error;
  });
  const target = (await stack.outputs())[ROLLBACK_OUTPUT]?.value as RollbackTarget | undefined;
  if (!target) throw new Error(`stack ${request.stack} has no ${ROLLBACK_OUTPUT} output yet: deploy it with pulumi up first`);
  const privateKey = (await stack.getConfig(SSH_KEY_CONFIG)).value;
  await rollbackOnHost(target, privateKey, request.release, (chunk) => process.stdout.write(chunk));
  console.log(
    'Pulumi still records the release it deployed last: a `pulumi up` without changes leaves this rollback in place, ' +
      'the next change of image or config deploys over it.',
  );
}

if (require.main === module) {
  main().catch((error: Error) => {
    // A failed step already streamed its output.
    if (!(error instanceof StepFailed)) console.error(error.message);
    process.exit(1);
  });
}
