import * as net from 'node:net';
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as ipaddr from 'ipaddr.js';
import { utils as sshUtils } from 'ssh2';
import { PORTS } from '../app/src/contract';
import type { RestoreSource } from '../components/backups';
import type { CidrsByFamily } from '../components/network';
import { isOnCalendar, type RestoreOnBoot } from '../components/scripts/render';
import type { DingtalkArgs, FeishuArgs, ModelProvider, SecretsArgs } from '../components/secrets';

// Reads and validates every setting of the stack, once, before any resource is declared. Plain
// keys and their defaults are declared in Pulumi.yaml (the CLI applies the defaults); secrets are
// listed in SECRET_KEYS. Every failure names the full key, e.g. `clawdbot:sshPort: ...`.

/** A config value that failed validation. A RunError, so the CLI prints the message, not a stack. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
  }
}

/** The 2 vCPU / 4 GiB types the stack is sized and priced for, with the AMI architecture of each. */
export const INSTANCE_TYPES = {
  't4g.medium': 'arm64',
  't3.medium': 'amd64',
  't3a.medium': 'amd64',
} as const;

export type InstanceType = keyof typeof INSTANCE_TYPES;
export type Architecture = (typeof INSTANCE_TYPES)[InstanceType];
export type Environment = 'dev' | 'prod';

/**
 * Secret keys, set with `pulumi config set --secret <key>`. `generated` ones are created by the
 * stack (@pulumi/random) when they are not supplied.
 */
export const SECRET_KEYS = {
  sshPrivateKey: {
    generated: false,
    description: 'Private key the deployment logs in with (OpenSSH or PEM, no passphrase); on aws, the pair of sshPublicKey. Required.',
  },
  modelApiKey: { generated: false, description: 'API key of the model provider. Required unless modelProvider is `rules`.' },
  modelApiSecret: { generated: false, description: 'Second credential, for providers that issue one with the key. Optional.' },
  dingtalkAppSecret: { generated: false, description: 'DingTalk app secret (AppSecret / Client Secret). Required when dingtalkAppKey is set.' },
  dingtalkToken: { generated: true, description: 'Token of the DingTalk HTTP event subscription (http mode). Generated when unset.' },
  dingtalkAesKey: { generated: true, description: '43-character EncodingAESKey of the DingTalk HTTP event subscription (http mode). Generated when unset.' },
  feishuAppSecret: { generated: false, description: 'Feishu app secret. Required when feishuAppId is set.' },
  feishuVerificationToken: { generated: false, description: 'Verification Token from the Feishu console. Required in webhook mode.' },
  feishuEncryptKey: { generated: true, description: 'Encrypt Key of the Feishu event subscription (webhook mode). Generated when unset.' },
} as const;

export type SecretKey = keyof typeof SECRET_KEYS;

/** An EC2 host that the stack builds, with its network, DNS, alarms and backups. */
export interface AwsTarget {
  kind: 'aws';
  network: {
    vpc: 'default' | 'dedicated';
    sshPort: number;
    sshAllowedCidrs: CidrsByFamily;
    publicCidrs: CidrsByFamily;
  };
  host: {
    instanceType: InstanceType;
    architecture: Architecture;
    rootVolumeSizeGb: number;
    sshPublicKey: string;
    terminationProtection: boolean;
  };
  monitoring: { alarmEmail?: string };
}

/** A machine of yours (at home, a VM) that the deployment ships to over SSH. */
export interface MachineTarget {
  kind: 'ssh';
  host: string;
  port: number;
  user: string;
  architecture: Architecture;
}

export interface StackConfig {
  project: string;
  stack: string;
  environment: Environment;
  /** Base of every resource name: `<project>-<stack>`. */
  name: string;
  /** Arguments of the stack's one AWS provider; absent when the stack uses no AWS at all (target ssh without backups). */
  aws?: { region: string; provider: aws.ProviderArgs };
  target: AwsTarget | MachineTarget;
  /** Absent when `domain` is empty. On aws its hosted zone is looked up with findHostedZoneId. */
  dns?: { domain: string; hostName: string; fqdn: string; ttl: number };
  /** Always on aws; on target ssh only with targetBackups. */
  backups?: {
    retentionDays: number;
    encryption: 'sse-s3' | 'kms';
    protect: boolean;
    /** systemd OnCalendar expression of the backup timer. */
    schedule: string;
    restoreFrom?: RestoreSource;
  };
  deployment: {
    sshPrivateKey: pulumi.Output<string>;
    imageTransport: 'ssh' | 'ecr';
    restoreOnBoot: RestoreOnBoot;
    /** Registry mirrors: the app's base image, Caddy, Redis. */
    baseImage?: string;
    caddyImage?: string;
    redisImage?: string;
    keepReleases: number;
  };
  bot: SecretsArgs;
}

/** Reads config keys of one namespace, failing with errors that name the full key. */
class ConfigReader {
  private readonly config: pulumi.Config;

  constructor(namespace?: string) {
    this.config = new pulumi.Config(namespace);
  }

  fullKey(key: string): string {
    return `${this.config.name}:${key}`;
  }

  fail(key: string, problem: string): never {
    throw new ConfigError(this.fullKey(key), problem);
  }

  string(key: string): string {
    return this.config.require(key).trim();
  }

  /** Empty counts as unset: Pulumi.yaml gives optional strings the default "". */
  optionalString(key: string): string | undefined {
    const value = this.config.get(key)?.trim();
    return value ? value : undefined;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    return this.config.require<T>(key, { allowedValues: [...allowed] });
  }

  integer(key: string, min: number, max: number): number {
    const value = this.config.requireNumber(key);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.fail(key, `${value} is out of range; use a whole number from ${min} to ${max}`);
    }
    return value;
  }

  cidrs(key: string): string[] {
    const value: unknown = this.config.requireObject(key);
    if (!Array.isArray(value) || value.length === 0) this.fail(key, 'must be a non-empty list of CIDRs');
    return value.map((cidr: unknown) => {
      const parsed = typeof cidr === 'string' ? parseCidr(cidr) : undefined;
      if (parsed === undefined) {
        this.fail(key, `${JSON.stringify(cidr)} is not a valid CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32)`);
      }
      // The AWS provider refuses them too, but only halfway through `pulumi up`.
      if (parsed.hasHostBits) {
        this.fail(key, `${cidr} has host bits set; use its network address, ${parsed.network}`);
      }
      return cidr as string;
    });
  }

  url(key: string): string | undefined {
    const value = this.optionalString(key);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.fail(key, `${JSON.stringify(value)} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') this.fail(key, 'must be an http(s) URL');
    return value.replace(/\/+$/, '');
  }

  boolean(key: string): boolean {
    return this.config.requireBoolean(key);
  }

  /** Unset when empty; otherwise must match `pattern`, or fails saying what was expected. */
  optionalMatching(key: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.optionalString(key);
    if (value !== undefined && !pattern.test(value)) this.fail(key, `${JSON.stringify(value)} is not ${expected}`);
    return value;
  }

  /** The plain value is read only to check it and never leaves here unwrapped. */
  requiredSecret(key: SecretKey, check?: (value: string) => string | undefined): pulumi.Output<string> {
    const value = this.config.get(key);
    const problem = value ? check?.(value) : undefined;
    if (problem) this.fail(key, problem);
    // Pulumi's own "Missing required configuration variable" error when unset.
    return this.config.requireSecret(key);
  }

  /** The plain value is read only to check it and never leaves here unwrapped. */
  optionalSecret(key: SecretKey, check?: (value: string) => string | undefined): pulumi.Output<string> | undefined {
    const value = this.config.get(key);
    if (value === undefined || value === '') return undefined;
    const problem = check?.(value);
    if (problem) this.fail(key, problem);
    return pulumi.secret(value);
  }
}

export interface Cidr {
  family: 4 | 6;
  prefixLength: number;
  /** The range written with its network address, e.g. 203.0.113.0/24 for 203.0.113.5/24. */
  network: string;
  /** True when the address has bits set beyond the prefix, as in 203.0.113.5/24. */
  hasHostBits: boolean;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) return undefined;
  // net.isIP is strict (no octal or shortened IPv4 forms); ipaddr.js does the arithmetic.
  const family = net.isIP(match[1]);
  const prefixLength = Number(match[2]);
  if (family === 0 || prefixLength > (family === 4 ? 32 : 128)) return undefined;
  const address = ipaddr.parse(match[1]);
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return {
    family: family as 4 | 6,
    prefixLength,
    network: `${network.toString()}/${prefixLength}`,
    hasHostBits: address.toNormalizedString() !== network.toNormalizedString(),
  };
}

/** Splits valid CIDRs by address family, as the security group takes them. */
function byFamily(cidrs: string[]): { ipv4: string[]; ipv6: string[] } {
  return {
    ipv4: cidrs.filter((cidr) => parseCidr(cidr)?.family === 4),
    ipv6: cidrs.filter((cidr) => parseCidr(cidr)?.family === 6),
  };
}

/**
 * The widest SSH source ranges prod accepts, by address family. An IPv4 /8 is already 16.7
 * million addresses and an IPv6 /32 a whole provider's allocation, while an office or VPN range is
 * far narrower; anything wider (0.0.0.0/1 + 128.0.0.0/1 included) is the internet in disguise.
 */
export const PROD_SSH_MIN_PREFIX = { 4: 8, 6: 32 } as const;

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
const IMAGE_REFERENCE = /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const DINGTALK_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

/**
 * A plain address as SNS delivers to: one @, a local part without quotes, spaces or commas, and a
 * domain of DNS labels that ends in a letters-only top-level domain.
 */
function isEmailAddress(value: string): boolean {
  const [local, domain, ...extra] = value.split('@');
  if (extra.length > 0 || domain === undefined) return false;
  const labels = domain.toLowerCase().split('.');
  return (
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local) &&
    labels.length >= 2 &&
    labels.every((label) => DNS_LABEL.test(label)) &&
    /^[a-z]{2,63}$/.test(labels[labels.length - 1])
  );
}

function readNetwork(config: ConfigReader, environment: Environment): AwsTarget['network'] {
  const sshPort = config.integer('sshPort', 1, 65535);
  if (sshPort === 22) config.fail('sshPort', '22 is the port every scanner tries; pick another, e.g. 2222');
  const taken = Object.entries(PORTS).find(([, port]) => port === sshPort);
  if (taken) config.fail('sshPort', `${sshPort} is the gateway's ${taken[0]} port; pick another`);

  const sshAllowedCidrs = config.cidrs('sshAllowedCidrs');
  for (const cidr of environment === 'prod' ? sshAllowedCidrs : []) {
    const { family, prefixLength } = parseCidr(cidr)!;
    const widest = PROD_SSH_MIN_PREFIX[family];
    if (prefixLength < widest) {
      const reach = prefixLength === 0 ? 'the whole internet' : `more than an IPv${family} /${widest}`;
      config.fail('sshAllowedCidrs', `${cidr} opens SSH to ${reach}, which prod refuses (no office or VPN range is that wide); list your office or VPN ranges`);
    }
  }
  return {
    vpc: config.oneOf('vpc', ['default', 'dedicated']),
    sshPort,
    sshAllowedCidrs: byFamily(sshAllowedCidrs),
    publicCidrs: byFamily(config.cidrs('publicCidrs')),
  };
}

function readHost(config: ConfigReader, environment: Environment): AwsTarget['host'] {
  const instanceType = config.string('instanceType');
  if (!(instanceType in INSTANCE_TYPES)) {
    config.fail('instanceType', `${instanceType} is not one of the 2 vCPU / 4 GiB types ${Object.keys(INSTANCE_TYPES).join(', ')}`);
  }
  const sshPublicKey = config.optionalString('sshPublicKey') ?? config.fail('sshPublicKey', 'is required for target aws: the public key installed for the ubuntu user');
  if (!SSH_PUBLIC_KEY.test(sshPublicKey)) {
    config.fail('sshPublicKey', 'is not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... you@laptop")');
  }
  return {
    instanceType: instanceType as InstanceType,
    architecture: INSTANCE_TYPES[instanceType as InstanceType],
    rootVolumeSizeGb: config.integer('rootVolumeSizeGb', 50, 16384),
    sshPublicKey,
    terminationProtection: environment === 'prod',
  };
}

function readDns(config: ConfigReader): StackConfig['dns'] {
  const domain = config.optionalString('domain')?.toLowerCase().replace(/\.$/, '');
  if (domain === undefined) return undefined;
  if (domain.length > 253 || domain.split('.').length < 2 || !domain.split('.').every((label) => DNS_LABEL.test(label))) {
    config.fail('domain', `${JSON.stringify(domain)} is not a domain name (e.g. example.com)`);
  }
  const hostName = config.string('hostName').toLowerCase();
  if (!DNS_LABEL.test(hostName)) config.fail('hostName', `${JSON.stringify(hostName)} is not a single DNS label (e.g. bot)`);
  return { domain, hostName, fqdn: `${hostName}.${domain}`, ttl: config.integer('dnsTtl', 60, 86400) };
}

/**
 * The public hosted zone of `domain`, looked up through the stack's provider, so with the same
 * account and credentials that will write the record. A missing zone stops the program before
 * anything is created in AWS, with an error that names clawdbot:domain.
 */
export async function findHostedZoneId(domain: string, provider: aws.Provider): Promise<string> {
  try {
    return (await aws.route53.getZone({ name: domain, privateZone: false }, { provider })).zoneId;
  } catch (error) {
    const reason = error instanceof Error && error.message ? ` (${error.message.split('\n')[0]})` : '';
    return new ConfigReader().fail('domain', `no public Route53 hosted zone named ${domain} was found${reason}; create the zone or leave domain empty`);
  }
}

/** aws:* settings that are credentials: secrets, however they were set. */
const AWS_CREDENTIAL_KEYS = ['accessKey', 'secretKey', 'token'];

/**
 * The provider's arguments: every aws:* setting of the stack (region, profile, assumeRoles,
 * endpoints...) as the SDK's own aws.config reads and types them. An explicit provider gets no
 * stack config by itself, unlike the default one, so without this it would ignore aws:profile or
 * an assumed role. The stack's tags are added to any aws:defaultTags.
 */
function readAwsProvider(region: string, tags: Record<string, string>): aws.ProviderArgs {
  const settings = aws.config as unknown as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const key of Object.keys(settings)) {
    const value = settings[key];
    if (value === undefined || typeof value === 'function') continue;
    args[key] = AWS_CREDENTIAL_KEYS.includes(key) ? pulumi.secret(value) : value;
  }
  const configuredTags = (args.defaultTags as aws.types.input.ProviderDefaultTags | undefined)?.tags;
  return { ...args, region, defaultTags: { tags: { ...configuredTags, ...tags } } };
}

function readModel(config: ConfigReader): SecretsArgs['model'] {
  const provider: ModelProvider = config.oneOf('modelProvider', ['openai', 'anthropic', 'rules']);
  const keyExpiresAt = config.optionalString('modelKeyExpiresAt');
  if (keyExpiresAt !== undefined && !(DATE.test(keyExpiresAt) && !Number.isNaN(Date.parse(keyExpiresAt)))) {
    config.fail('modelKeyExpiresAt', `${JSON.stringify(keyExpiresAt)} is not a date in YYYY-MM-DD form`);
  }
  return {
    provider,
    name: config.optionalString('modelName'),
    endpoint: config.url('modelEndpoint'),
    apiKey: provider === 'rules' ? undefined : config.requiredSecret('modelApiKey'),
    apiSecret: provider === 'rules' ? undefined : config.optionalSecret('modelApiSecret'),
    keyExpiresAt,
  };
}

function readDingtalk(config: ConfigReader): DingtalkArgs | undefined {
  const appKey = config.optionalString('dingtalkAppKey');
  if (appKey === undefined) return undefined;
  return {
    mode: config.oneOf('dingtalkMode', ['http', 'stream']),
    appKey,
    appSecret: config.requiredSecret('dingtalkAppSecret'),
    robotCode: config.optionalString('dingtalkRobotCode'),
    token: config.optionalSecret('dingtalkToken'),
    aesKey: config.optionalSecret('dingtalkAesKey', (value) =>
      DINGTALK_AES_KEY.test(value) ? undefined : 'must be 43 characters of A-Z, a-z, 0-9, + and / (the EncodingAESKey format)',
    ),
  };
}

function readFeishu(config: ConfigReader): FeishuArgs | undefined {
  const appId = config.optionalString('feishuAppId');
  if (appId === undefined) return undefined;
  const mode = config.oneOf('feishuMode', ['webhook', 'ws']);
  return {
    mode,
    appId,
    appSecret: config.requiredSecret('feishuAppSecret'),
    apiBase: config.url('feishuApiBase') ?? config.fail('feishuApiBase', 'must be set (https://open.feishu.cn, or https://open.larksuite.com for Lark)'),
    verificationToken: mode === 'webhook' ? config.requiredSecret('feishuVerificationToken') : undefined,
    encryptKey: config.optionalSecret('feishuEncryptKey'),
  };
}

function readAwsTarget(config: ConfigReader, environment: Environment): AwsTarget {
  const alarmEmail = config.optionalString('alarmEmail');
  if (alarmEmail !== undefined && !isEmailAddress(alarmEmail)) {
    config.fail('alarmEmail', `${JSON.stringify(alarmEmail)} is not an email address`);
  }
  return { kind: 'aws', network: readNetwork(config, environment), host: readHost(config, environment), monitoring: { alarmEmail } };
}

/** An IP address, or a host name of DNS labels (a single label, e.g. a home machine's name, included). */
function isHostAddress(value: string): boolean {
  return net.isIP(value) !== 0 || (value.length <= 253 && value.toLowerCase().split('.').every((label) => DNS_LABEL.test(label)));
}

function readMachineTarget(config: ConfigReader): MachineTarget {
  const host = config.optionalString('targetHost') ?? config.fail('targetHost', 'is required for target ssh: the address or DNS name of your machine');
  if (!isHostAddress(host)) config.fail('targetHost', `${JSON.stringify(host)} is not an IP address or a DNS name`);
  const user = config.optionalString('targetUser') ?? config.fail('targetUser', 'is required for target ssh: the user the deployment logs in as');
  if (!USER_NAME.test(user)) config.fail('targetUser', `${JSON.stringify(user)} is not a user name`);
  return { kind: 'ssh', host, port: config.integer('targetPort', 1, 65535), user, architecture: config.oneOf('targetArchitecture', ['amd64', 'arm64']) };
}

const RESTORE_SOURCE_KEYS = ['restoreFromBucket', 'restoreFromPrefix', 'restoreFromRegion'] as const;

function readRestoreSource(config: ConfigReader): RestoreSource | undefined {
  const prefix = config.optionalString('restoreFromPrefix')?.replace(/\/+$/, '');
  if (prefix !== undefined && (prefix === '' || /^\/|\s/.test(prefix))) {
    config.fail('restoreFromPrefix', 'is not a key prefix (e.g. clawdbot-prod: the lost stack\'s <project>-<stack>)');
  }
  const source: RestoreSource = {
    bucket: config.optionalMatching('restoreFromBucket', S3_BUCKET, 'an S3 bucket name'),
    prefix,
    region: config.optionalMatching('restoreFromRegion', AWS_REGION, 'an AWS region (e.g. ap-southeast-1)'),
  };
  return Object.values(source).some((value) => value !== undefined) ? source : undefined;
}

function readBackups(config: ConfigReader, environment: Environment): NonNullable<StackConfig['backups']> {
  const schedule = config.string('backupSchedule');
  if (!isOnCalendar(schedule)) {
    config.fail('backupSchedule', `${JSON.stringify(schedule)} is not a systemd OnCalendar expression (e.g. daily, hourly, *-*-* 03:00:00, Mon..Fri 01:30)`);
  }
  return {
    retentionDays: config.integer('backupRetentionDays', 1, 3650),
    encryption: config.oneOf('backupEncryption', ['sse-s3', 'kms']),
    protect: environment === 'prod',
    schedule,
    restoreFrom: readRestoreSource(config),
  };
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

function readDeployment(config: ConfigReader, target: StackConfig['target'], restorePrefix: string | undefined): StackConfig['deployment'] {
  const imageTransport = config.oneOf('imageTransport', ['ssh', 'ecr']);
  if (imageTransport === 'ecr' && target.kind === 'ssh') {
    config.fail('imageTransport', 'ecr needs target aws (the host pulls with its instance role); use ssh');
  }
  const image = (key: string) => config.optionalMatching(key, IMAGE_REFERENCE, 'a Docker image reference (e.g. registry.example.cn/library/caddy:2.10-alpine)');
  return {
    sshPrivateKey: config.requiredSecret('sshPrivateKey', (value) => privateKeyProblem(value, target.kind === 'aws' ? target.host.sshPublicKey : undefined)),
    imageTransport,
    restoreOnBoot: readRestoreOnBoot(config, restorePrefix),
    baseImage: image('baseImage'),
    caddyImage: image('caddyImage'),
    redisImage: image('redisImage'),
    keepReleases: config.integer('keepReleases', 1, 50),
  };
}

/** Reads and validates the whole stack configuration (the hosted zone aside: findHostedZoneId). */
export function loadConfig(): StackConfig {
  const config = new ConfigReader();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const name = `${project}-${stack}`;
  const environment = config.oneOf('environment', ['dev', 'prod']);

  const target = config.oneOf('target', ['aws', 'ssh']) === 'aws' ? readAwsTarget(config, environment) : readMachineTarget(config);
  const backups = target.kind === 'aws' || config.boolean('targetBackups') ? readBackups(config, environment) : undefined;
  if (backups === undefined) {
    for (const key of RESTORE_SOURCE_KEYS) {
      if (config.optionalString(key) !== undefined) config.fail(key, 'needs backups: on target ssh, set targetBackups to true');
    }
  }
  const restorePrefix = backups && (backups.restoreFrom?.prefix ?? name);
  const deployment = readDeployment(config, target, restorePrefix);
  const bot: SecretsArgs = { model: readModel(config), dingtalk: readDingtalk(config), feishu: readFeishu(config) };
  const region = backups && new ConfigReader('aws').string('region');

  return {
    project,
    stack,
    environment,
    name,
    aws: region === undefined ? undefined : { region, provider: readAwsProvider(region, { Project: project, Stack: stack, ManagedBy: 'pulumi' }) },
    target,
    dns: readDns(config),
    backups,
    deployment,
    bot,
  };
}
