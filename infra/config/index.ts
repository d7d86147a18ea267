import * as pulumi from '@pulumi/pulumi';
import type { SecretsArgs } from '../../components/shared/secrets';
import { readAws, type AwsConfig } from './aws';
import { readBackups, type BackupsConfig } from './backups';
import { readBot } from './bot';
import { readDeployment, type DeploymentConfig } from './deployment';
import { readDns, type DnsConfig } from './dns';
import { ConfigReader, type Environment } from './reader';
import { readTarget, type Target } from './target';

// Reads and validates every setting of the stack, once, before any resource is declared: one
// module per section beside this one. Plain keys and their defaults are declared in Pulumi.yaml
// (the CLI applies the defaults); secrets are listed in SECRET_KEYS (secret-keys.ts). Every
// failure names the full key, e.g. `clawdbot:sshPort: ...`.

export interface StackConfig {
  project: string;
  stack: string;
  environment: Environment;
  /** Base of every resource name: `<project>-<stack>`. */
  name: string;
  /** Absent when the stack uses no AWS at all (target ssh without backups). */
  aws?: AwsConfig;
  target: Target;
  /** Absent when `domain` is empty. */
  dns?: DnsConfig;
  /** Always on aws; on target ssh only with targetBackups. */
  backups?: BackupsConfig;
  deployment: DeploymentConfig;
  bot: SecretsArgs;
}

/** Reads and validates the whole stack configuration (the hosted zone aside: findHostedZoneId in dns.ts). */
export function loadConfig(): StackConfig {
  const config = new ConfigReader();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const name = `${project}-${stack}`;
  const environment = config.oneOf('environment', ['dev', 'prod']);

  // The order decides which error a config with several mistakes reports first.
  const target = readTarget(config, environment);
  const backups = readBackups(config, target, environment);
  const restorePrefix = backups && (backups.restoreFrom?.prefix ?? name);
  const deployment = readDeployment(config, target, restorePrefix);
  const bot = readBot(config);
  const aws = backups && readAws({ Project: project, Stack: stack, ManagedBy: 'pulumi' });

  return { project, stack, environment, name, aws, target, dns: readDns(config), backups, deployment, bot };
}
