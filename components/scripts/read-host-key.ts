import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

// Reads a new EC2 host's SSH host key once, over a channel that needs no host key to trust:
// SSM Run Command, which AWS authenticates with the instance's own identity. Run by Pulumi
// where it runs (a local command, with the stack's AWS credentials and the AWS CLI); its output,
// the authorized_keys line of /etc/ssh/ssh_host_ed25519_key.pub, is the key every SSH connection
// to the host is pinned to. The private key never leaves the host.

const run = promisify(execFile);

/** The SSM agent registers a minute or two after boot; 60 tries 10 s apart is ten minutes. */
const ATTEMPTS = 60;
const INTERVAL_MS = 10_000;
const HOST_KEY_FILE = '/etc/ssh/ssh_host_ed25519_key.pub';
const HOST_KEY_LINE = /^ssh-ed25519 [A-Za-z0-9+/]+={0,2}(?: |$)/;

async function aws(args: string[], region: string): Promise<string> {
  const { stdout } = await run('aws', [...args, '--region', region, '--output', 'text']);
  return stdout.trim();
}

async function readHostKey(instanceId: string, region: string): Promise<string> {
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const commandId = await aws(
        ['ssm', 'send-command', '--instance-ids', instanceId, '--document-name', 'AWS-RunShellScript', '--comment', 'clawdbot: read the SSH host key to pin it', '--parameters', JSON.stringify({ commands: [`cat ${HOST_KEY_FILE}`] }), '--query', 'Command.CommandId'],
        region,
      );
      await run('aws', ['ssm', 'wait', 'command-executed', '--command-id', commandId, '--instance-id', instanceId, '--region', region]);
      const line = (await aws(['ssm', 'get-command-invocation', '--command-id', commandId, '--instance-id', instanceId, '--query', 'StandardOutputContent'], region)).split('\n')[0];
      if (HOST_KEY_LINE.test(line)) return line.split(' ').slice(0, 2).join(' ');
      last = `unexpected output ${JSON.stringify(line.slice(0, 80))}`;
    } catch (error) {
      // InvalidInstanceId until the agent has registered.
      last = ((error as { stderr?: string }).stderr || (error as Error).message).trim();
    }
    console.error(`${instanceId}: attempt ${attempt}/${ATTEMPTS} to read ${HOST_KEY_FILE} failed (${last})`);
    if (attempt < ATTEMPTS) await sleep(INTERVAL_MS);
  }
  throw new Error(
    `could not read ${instanceId}'s host key over SSM Run Command (last: ${last}). Check that the instance is Online in Systems Manager > Fleet Manager ` +
      '(its role has AmazonSSMManagedInstanceCore; it needs outbound HTTPS), and that these credentials may ssm:SendCommand and ssm:GetCommandInvocation',
  );
}

async function main(): Promise<void> {
  const instanceId = process.env.CLAWDBOT_INSTANCE_ID;
  const region = process.env.AWS_REGION;
  if (!instanceId || !region) throw new Error('CLAWDBOT_INSTANCE_ID and AWS_REGION must be set');
  process.stdout.write(`${await readHostKey(instanceId, region)}\n`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
