import * as pulumi from '@pulumi/pulumi';
import type { SecretsArgs } from '../../components/shared/secrets';
import { readAws, type AwsConfig } from './aws';
import { readBackups, type BackupsConfig } from './backups';
import { readBot } from './bot';
import { readDeployment, readImage, type DeploymentConfig } from './deployment';
import { readDns, type DnsConfig } from './dns';
import { readHa, type HaConfig } from './ha';
import { ConfigReader, type Environment } from './reader';
import { readTarget, type Target } from './target';

// Reads and validates every setting of the stack, once, before any resource is declared: one
// module per section beside this one. Plain keys and their defaults are declared in Pulumi.yaml
// (the CLI applies the defaults); secrets are listed in SECRET_KEYS (secret-keys.ts). Every
// failure names the full key, e.g. `clawdbot:sshPort: ...`.

interface CommonConfig {
  project: string;
  stack: string;
  environment: Environment;
  /** Base of every resource name: `<project>-<stack>`. */
  name: string;
  /** Absent when the stack uses no AWS at all (target ssh without backups). */
  aws?: AwsConfig;
  /** Absent when `domain` is empty. */
  dns?: DnsConfig;
  /** Always on aws; on target ssh only with targetBackups. */
  backups?: BackupsConfig;
  bot: SecretsArgs;
  /** The app image's base (a registry mirror), or the Dockerfile's default. */
  baseImage?: string;
}

/** tier single-host: one EC2 host of the stack's, or a machine of yours, deployed to over SSH. */
export interface SingleHostConfig extends CommonConfig {
  tier: 'single-host';
  target: Target;
  deployment: DeploymentConfig;
}

/** tier ha: ECS Fargate behind a load balancer; always on AWS, always with a domain and backups. */
export interface HaStackConfig extends CommonConfig {
  tier: 'ha';
  ha: HaConfig;
  aws: AwsConfig;
  dns: DnsConfig;
  backups: BackupsConfig;
}

export type StackConfig = SingleHostConfig | HaStackConfig;

/** Reads and validates the whole stack configuration (the hosted zone aside: findHostedZoneId in dns.ts). */
export function loadConfig(): StackConfig {
  const config = new ConfigReader();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const name = `${project}-${stack}`;
  const environment = config.oneOf('environment', ['dev', 'prod']);
  const tags = { Project: project, Stack: stack, ManagedBy: 'pulumi' };
  const baseImage = readImage(config, 'baseImage');

  // The order decides which error a config with several mistakes reports first.
  if (config.oneOf('tier', ['single-host', 'ha']) === 'ha') {
    const dns = readDns(config);
    const ha = readHa(config, dns);
    const backups = readBackups(config, true, environment)!;
    return { tier: 'ha', project, stack, environment, name, aws: readAws(tags), dns: dns!, backups, bot: readBot(config), baseImage, ha };
  }
  const target = readTarget(config, environment);
  const backups = readBackups(config, target.kind === 'aws', environment);
  const restorePrefix = backups && (backups.restoreFrom?.prefix ?? name);
  const deployment = readDeployment(config, target, restorePrefix);
  const bot = readBot(config);
  const aws = backups && readAws(tags);

  return { tier: 'single-host', project, stack, environment, name, aws, target, dns: readDns(config), backups, deployment, bot, baseImage };
}
