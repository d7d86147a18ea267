import * as path from 'node:path';
import { Client } from 'ssh2';
import { shellQuote } from './render';

// Runs a rendered step over SSH the way @pulumi/command's remote.Command does: one session,
// the command text through the login shell, optional stdin. Used by `npm run rollback` and the
// e2e suite.

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
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
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .once('ready', () => resolve(client))
      .once('error', reject)
      .connect({ host: target.host, port: target.port, username: target.user, privateKey: target.privateKey, readyTimeout: 20_000 });
  });
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
