import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ssh2';
import { shellQuote } from './render';

// Runs a rendered step over SSH the way @pulumi/command's remote.Command does: one session,
// the command text through the login shell, optional stdin. Used by `npm run rollback`, the
// deployment's local steps (reaching the host, teardown) and the e2e suite. Every connection
// checks the host's key against the pinned one, as the remote steps do (their `hostKey`).

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** The host's public key as an authorized_keys line (`ssh-ed25519 AAAA...`): any other key is refused. */
  hostKey: string;
}

/** A host that answered with another key than the pinned one: never retried, never trusted. */
export class HostKeyMismatch extends Error {
  constructor(target: SshTarget, offered: Buffer) {
    super(
      `${target.host}:${target.port} offered host key ${fingerprint(offered)}, not the pinned ${fingerprint(hostKeyBlob(target.hostKey))}: ` +
        'someone may be in the middle, or the host was rebuilt outside Pulumi; check the key on the host (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` through Session Manager)',
    );
  }
}

/** The key blob of an authorized_keys line, as SSH sends it. */
function hostKeyBlob(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64');
}

/** OpenSSH's SHA256 fingerprint of a key blob. */
function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface StepResult {
  stdout: string;
  stderr: string;
}

/** A step that exited non-zero; the message carries the step's output, as Pulumi would show it. */
export class StepFailed extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`exit ${exitCode ?? 'signal'}\n${stdout}${stderr}`);
  }
}

function connect(target: SshTarget): Promise<Client> {
  const pinned = hostKeyBlob(target.hostKey);
  let offered: Buffer | undefined;
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .once('ready', () => resolve(client))
      .once('error', (error) => reject(offered ? new HostKeyMismatch(target, offered) : error))
      .connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey,
        readyTimeout: 20_000,
        hostVerifier: (key: Buffer) => {
          if (key.equals(pinned)) return true;
          offered = key;
          return false;
        },
      });
  });
}

/**
 * Waits until the host takes an SSH session (a new instance boots for minutes), at most
 * `attempts` times `intervalMs` apart. A wrong host key fails at once; running out of attempts
 * fails with `unreachableHint`, which says what to check.
 */
export async function waitForSsh(target: SshTarget, options: { attempts: number; intervalMs: number; unreachableHint: string; onRetry?: (message: string) => void }): Promise<void> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      (await connect(target)).end();
      return;
    } catch (error) {
      if (error instanceof HostKeyMismatch) throw error;
      lastError = error as Error;
      options.onRetry?.(`${target.host}:${target.port}: attempt ${attempt}/${options.attempts} failed (${lastError.message})`);
      if (attempt < options.attempts) await sleep(options.intervalMs);
    }
  }
  throw new Error(`no SSH session with ${target.user}@${target.host}:${target.port} after ${options.attempts} attempts (last: ${lastError?.message}). ${options.unreachableHint}`);
}

/** The target of a local step, from the environment (the key never appears in a command's text). */
export function sshTargetFromEnvironment(environment: NodeJS.ProcessEnv = process.env): SshTarget {
  const required = (name: string): string => {
    const value = environment[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    host: required('CLAWDBOT_SSH_HOST'),
    port: Number(required('CLAWDBOT_SSH_PORT')),
    user: required('CLAWDBOT_SSH_USER'),
    privateKey: required('CLAWDBOT_SSH_PRIVATE_KEY'),
    hostKey: required('CLAWDBOT_SSH_HOST_KEY'),
  };
}

/** Runs `command` on the target; resolves with its output, rejects with StepFailed on a non-zero exit. */
export async function runOverSsh(
  target: SshTarget,
  command: string,
  options: { stdin?: string; onOutput?: (chunk: string) => void } = {},
): Promise<StepResult> {
  const client = await connect(target);
  try {
    return await new Promise<StepResult>((resolve, reject) => {
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        let stdout = '';
        let stderr = '';
        channel.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          options.onOutput?.(chunk.toString());
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          options.onOutput?.(chunk.toString());
        });
        channel.once('close', (code: number | null) => {
          if (code === 0) resolve({ stdout, stderr });
          else reject(new StepFailed(code, stdout, stderr));
        });
        channel.end(options.stdin ?? '');
      });
    });
  } finally {
    client.end();
  }
}

/** Copies a local file to `remotePath` over SFTP, creating parent dirs, like remote.CopyToRemote. */
export async function copyOverSsh(target: SshTarget, localPath: string, remotePath: string): Promise<void> {
  await runOverSsh(target, `mkdir -p ${shellQuote(path.posix.dirname(remotePath))}`);
  const client = await connect(target);
  try {
    await new Promise<void>((resolve, reject) => {
      client.sftp((error, sftp) => {
        if (error) return reject(error);
        sftp.fastPut(localPath, remotePath, (putError) => (putError ? reject(putError) : resolve()));
      });
    });
  } finally {
    client.end();
  }
}
