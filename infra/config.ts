import * as net from 'node:net';
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as ipaddr from 'ipaddr.js';
import { PORTS } from '../app/src/contract';
import type { CidrsByFamily } from '../components/network';
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

export interface StackConfig {
  project: string;
  stack: string;
  environment: Environment;
  /** Base of every resource name: `<project>-<stack>`. */
  name: string;
  /** Arguments of the stack's one AWS provider. */
  aws: { region: string; provider: aws.ProviderArgs };
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
  /** Absent when `domain` is empty. Its hosted zone is looked up with findHostedZoneId. */
  dns?: { domain: string; hostName: string; fqdn: string; ttl: number };
  backups: { retentionDays: number; encryption: 'sse-s3' | 'kms'; protect: boolean };
  monitoring: { alarmEmail?: string };
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

  requiredSecret(key: SecretKey): pulumi.Output<string> {
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

function readNetwork(config: ConfigReader, environment: Environment): StackConfig['network'] {
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

function readHost(config: ConfigReader, environment: Environment): StackConfig['host'] {
  const instanceType = config.string('instanceType');
  if (!(instanceType in INSTANCE_TYPES)) {
    config.fail('instanceType', `${instanceType} is not one of the 2 vCPU / 4 GiB types ${Object.keys(INSTANCE_TYPES).join(', ')}`);
  }
  const sshPublicKey = config.string('sshPublicKey');
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

/** Reads and validates the whole stack configuration (the hosted zone aside: findHostedZoneId). */
export function loadConfig(): StackConfig {
  const config = new ConfigReader();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const environment = config.oneOf('environment', ['dev', 'prod']);

  const alarmEmail = config.optionalString('alarmEmail');
  if (alarmEmail !== undefined && !isEmailAddress(alarmEmail)) {
    config.fail('alarmEmail', `${JSON.stringify(alarmEmail)} is not an email address`);
  }

  const network = readNetwork(config, environment);
  const host = readHost(config, environment);
  const backups: StackConfig['backups'] = {
    retentionDays: config.integer('backupRetentionDays', 1, 3650),
    encryption: config.oneOf('backupEncryption', ['sse-s3', 'kms']),
    protect: environment === 'prod',
  };
  const bot: SecretsArgs = { model: readModel(config), dingtalk: readDingtalk(config), feishu: readFeishu(config) };
  const region = new ConfigReader('aws').string('region');
  const dns = readDns(config);

  return {
    project,
    stack,
    environment,
    name: `${project}-${stack}`,
    aws: { region, provider: readAwsProvider(region, { Project: project, Stack: stack, ManagedBy: 'pulumi' }) },
    network,
    host,
    dns,
    backups,
    monitoring: { alarmEmail },
    bot,
  };
}
