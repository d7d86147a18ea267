import { removeCommand } from './render';
import { runOverSsh } from './ssh';

// The deletion step of a deployment, run by Pulumi where it runs (a local command): stops the
// bot's services on the host over SSH. A host that is already gone (no route, refused, timed
// out, name unknown) has nothing left to stop, so that counts as done. The connection comes
// from the environment, the key included, so it never appears in a command's text.

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);

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
  try {
    const result = await runOverSsh(target, removeCommand());
    process.stdout.write(result.stdout + result.stderr);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const timedOut = /Timed out while waiting for handshake/.test((error as Error).message);
    if ((code && UNREACHABLE.has(code)) || timedOut) {
      console.log(`${target.host}:${target.port} is unreachable (${code ?? 'handshake timeout'}); nothing left to stop there`);
      return;
    }
    throw error;
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
