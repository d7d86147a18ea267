import * as pulumi from '@pulumi/pulumi';
import { local } from '@pulumi/command';

/**
 * The EC2 host's SSH host key, read once per instance over SSM Run Command
 * (components/scripts/read-host-key.ts) where Pulumi runs: every SSH connection to the host is
 * pinned to it. Only the public key travels; the host keeps the private one it generated.
 */
export function readHostKey(name: string, args: { instanceId: pulumi.Input<string>; region: pulumi.Input<string> }, parent: pulumi.Resource): pulumi.Output<string> {
  const read = new local.Command(
    `${name}-host-key`,
    {
      create: 'npx tsx components/scripts/read-host-key.ts',
      environment: { CLAWDBOT_INSTANCE_ID: args.instanceId, AWS_REGION: args.region },
      triggers: [args.instanceId],
    },
    { parent, customTimeouts: { create: '15m' } },
  );
  return read.stdout.apply((line) => line.trim());
}
