import type * as pulumi from '@pulumi/pulumi';
import { utils as sshUtils } from 'ssh2';
import type { RestoreOnBoot } from '../../components/scripts/restore-on-boot';
import type { ConfigReader } from './reader';
import type { Target } from './target';

/** How the bot is shipped to its host and started there. */
export interface DeploymentConfig {
  sshPrivateKey: pulumi.Output<string>;
  imageTransport: 'ssh' | 'ecr';
  restoreOnBoot: RestoreOnBoot;
  /** Registry mirrors on the host: Caddy, Redis. */
  caddyImage?: string;
  redisImage?: string;
  keepReleases: number;
}

/** A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
const IMAGE_REFERENCE = /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** An optional image reference (a registry mirror's copy), checked. */
export function readImage(config: ConfigReader, key: string): string | undefined {
  return config.optionalMatching(key, IMAGE_REFERENCE, 'a Docker image reference (e.g. registry.example.cn/library/caddy:2.10-alpine)');
}

/**
 * What the fresh host restores before the bot first starts. `restorePrefix` is where restores
 * read (the restore source's prefix, or this stack's own); undefined when the stack has no
 * backups, where `latest` means nothing to restore.
 */
function readRestoreOnBoot(config: ConfigReader, restorePrefix: string | undefined): RestoreOnBoot {
  const value = config.string('restoreOnBoot');
  if (value === 'none') return 'none';
  if (restorePrefix === undefined) {
    if (value === 'latest') return 'none';
    return config.fail('restoreOnBoot', 'needs backups: on target ssh, set targetBackups to true, or restoreOnBoot to none');
  }
  if (value === 'latest') return 'latest';
  if (!value.startsWith(`${restorePrefix}/`) || !value.endsWith('.tar.gz') || /\s/.test(value)) {
    config.fail(
      'restoreOnBoot',
      `${JSON.stringify(value)} is not latest, none or the key of a backup under ${restorePrefix}/ (e.g. ${restorePrefix}/2025/03/01/clawdbot-20250301T030512Z.tar.gz)`,
    );
  }
  return { key: value };
}

/** Why `value` cannot log in, or undefined. Never quotes the key. */
function privateKeyProblem(value: string, publicKey: string | undefined): string | undefined {
  const parsed = sshUtils.parseKey(value);
  if (parsed instanceof Error) return `is not a private key SSH can use without a passphrase (${parsed.message})`;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key.isPrivateKey()) return 'is a public key; give the private key (e.g. the contents of ~/.ssh/id_ed25519)';
  if (publicKey !== undefined && key.getPublicSSH().toString('base64') !== publicKey.split(' ')[1]) {
    return 'is not the private key of sshPublicKey: the host would refuse it';
  }
  return undefined;
}

export function readDeployment(config: ConfigReader, target: Target, restorePrefix: string | undefined): DeploymentConfig {
  const imageTransport = config.oneOf('imageTransport', ['ssh', 'ecr']);
  if (imageTransport === 'ecr' && target.kind === 'ssh') {
    config.fail('imageTransport', 'ecr needs target aws (the host pulls with its instance role); use ssh');
  }
  return {
    sshPrivateKey: config.requiredSecret('sshPrivateKey', (value) => privateKeyProblem(value, target.kind === 'aws' ? target.host.sshPublicKey : undefined)),
    imageTransport,
    restoreOnBoot: readRestoreOnBoot(config, restorePrefix),
    caddyImage: readImage(config, 'caddyImage'),
    redisImage: readImage(config, 'redisImage'),
    keepReleases: config.integer('keepReleases', 1, 50),
  };
}
