import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { Deployment } from '../components/single-host/deployment';
import { Secrets } from '../components/shared/secrets';
import { loadConfig } from './config';
import { findHostedZoneId } from './config/dns';
import { onHa } from './ha';
import { onAws, onMachine } from './site';

// The clawdbot stack: config in, components composed, outputs out. On the single-host tier the
// bot runs on an EC2 host that the stack builds (target aws) or on a machine of yours (target
// ssh), and either way the same Deployment ships it there; on the ha tier (infra/ha.ts) it runs
// as replicas on ECS Fargate.

export = async () => {
  const config = loadConfig();
  const { name } = config;

  // Every AWS resource and lookup goes through this provider: the stack's aws:* settings and
  // credentials, and the default tags on everything. None for a machine of yours without backups.
  const provider = config.aws && new aws.Provider(name, config.aws.provider);
  const opts: pulumi.ComponentResourceOptions = { providers: provider ? [provider] : [] };
  const partition = provider && aws.getPartitionOutput({}, { provider });
  // The same settings, credentials and tags in another region (us-east-1's health-check metrics,
  // the backup replica).
  const providerIn = (region: string) => new aws.Provider(`${name}-${region}`, { ...config.aws!.provider, region });

  if (config.tier === 'ha') {
    // First: the hosted-zone lookup stops a bad `domain` before anything exists.
    const zoneId = await findHostedZoneId(config.dns.domain, provider!);
    const secrets = new Secrets(name, config.bot, opts);
    return { ...onHa(config, zoneId, providerIn, partition!, secrets, opts), ...secretOutputs(secrets) };
  }

  // First: the hosted-zone lookup stops a bad `domain` before anything exists.
  const site =
    config.target.kind === 'aws'
      ? await onAws(config, config.target, { provider: provider!, providerIn }, partition!, opts)
      : onMachine(config, config.target, partition, opts, providerIn);

  const secrets = new Secrets(name, config.bot, opts);

  const deployment = new Deployment(
    name,
    {
      ...site.deployment,
      build: { context: '.', dockerfile: 'app/Dockerfile', baseImage: config.baseImage },
      imageTransport: config.deployment.imageTransport,
      environment: secrets.botEnvironment,
      domain: config.dns?.fqdn,
      caddyImage: config.deployment.caddyImage,
      redisImage: config.deployment.redisImage,
      restoreOnBoot: config.deployment.restoreOnBoot,
      keepReleases: config.deployment.keepReleases,
    },
    { ...opts, dependsOn: site.dependsOn },
  );

  return {
    ...site.outputs,
    release: deployment.release,
    // Read by `npm run rollback -- <stack>` (infra/rollback.ts).
    rollbackTarget: deployment.rollbackTarget,
    ...secretOutputs(secrets),
  };
};

/** The secrets among the outputs, shown only with `pulumi stack output --show-secrets`. */
function secretOutputs(secrets: Secrets): Record<string, pulumi.Output<string>> {
  return {
    gatewayApiKey: secrets.gatewayApiKey,
    adminToken: secrets.adminToken,
    // Generated webhook secrets to paste into the DingTalk / Feishu consoles, when those channels are on.
    ...(secrets.dingtalkToken && { dingtalkToken: secrets.dingtalkToken }),
    ...(secrets.dingtalkAesKey && { dingtalkAesKey: secrets.dingtalkAesKey }),
    ...(secrets.feishuEncryptKey && { feishuEncryptKey: secrets.feishuEncryptKey }),
  };
}
