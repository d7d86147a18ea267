import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { SECRET_KEYS } from './config/secret-keys';
import stackProgram = require('./index');

// Runs the stack program (infra/index.ts) under Pulumi's mock runtime, with the config the CLI
// would give it: Pulumi.yaml defaults, the stack file, and placeholders for what an operator
// supplies (the SSH key, secrets). Used by `npm run plan` and by the infra tests; no cloud, no
// Pulumi CLI.

const ROOT = path.join(__dirname, '..');
const ACCOUNT = '123456789012';

/** What the mocked AWS account contains. */
const MOCK_ACCOUNT = {
  hostedZones: ['example.com'],
} as const;

/** An SSH string: its length as a big-endian uint32, then its bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

const ARMOUR_LABEL = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

/**
 * An ed25519 key pair made from a fixed seed, so that plans are the same on every machine: the
 * public key in OpenSSH's one-line form, the private key in its unencrypted PEM-armoured format
 * (PROTOCOL.key). It opens nothing; it only lets the config check that the two belong together.
 */
function placeholderKeyPair(): { publicKey: string; privateKey: string } {
  const seed = createHash('sha256').update('clawdbot placeholder deploy key').digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const rawPublic = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(rawPublic)]);
  const checkInts = Buffer.alloc(8, 0x42);
  const unpadded = Buffer.concat([checkInts, sshString('ssh-ed25519'), sshString(rawPublic), sshString(Buffer.concat([seed, rawPublic])), sshString('placeholder@plan')]);
  const padding = Buffer.from(Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, index) => index + 1));
  const keyCount = Buffer.alloc(4);
  keyCount.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    keyCount,
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]);
  const armoured = body.toString('base64').match(/.{1,70}/g)!.join('\n');
  return {
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} placeholder@plan`,
    // The label is assembled so that secret scanners do not take this generator for a committed key.
    privateKey: [`-----BEGIN ${ARMOUR_LABEL}-----`, armoured, `-----END ${ARMOUR_LABEL}-----`, ''].join('\n'),
  };
}

const PLACEHOLDER_KEYS = placeholderKeyPair();

/** Stand-ins for values an operator sets per stack (`pulumi config set [--secret]`). */
const PLACEHOLDERS: { plain: Record<string, string>; secret: (key: string) => string } = {
  plain: { sshPublicKey: PLACEHOLDER_KEYS.publicKey },
  secret: (key: string) => (key === 'sshPrivateKey' ? PLACEHOLDER_KEYS.privateKey : `placeholder-${key}`),
};

export interface SimulateOptions {
  /** Plain values that override the stack file; keys without namespace mean the project's. */
  config?: Record<string, unknown>;
  /** Secret values; keys without namespace mean the project's. */
  secrets?: Record<string, string>;
  /** Keys to leave unset, placeholders included. */
  unset?: string[];
  /** Runs this instead of infra/index.ts, e.g. one component with arguments no config key sets. */
  program?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Names of resources that get a new id, as after `pulumi up --replace` of them. */
  replaced?: string[];
}

export interface SimulatedResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent; undefined only for the stack itself. */
  parent?: string;
  /** Provider reference (`<urn>::<id>`) of a custom resource. */
  provider?: string;
  /** URNs of the resources it waits for: dependsOn and those its inputs come from. */
  dependencies: string[];
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  /** Only the operations given a timeout. */
  customTimeouts: { create?: string; update?: string; delete?: string };
  /** URN of the resource whose deletion makes this one's unnecessary. */
  deletedWith?: string;
  /** Inputs as the engine receives them; secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  /** What a component passed to registerOutputs; secrets stay wrapped. */
  outputs: Record<string, unknown>;
}

export interface SimulatedCall {
  token: string;
  inputs: Record<string, unknown>;
  /** Provider reference the invoke went through; empty for the default provider. */
  provider: string;
}

export interface Simulation {
  stack: string;
  config: Record<string, string>;
  resources: SimulatedResource[];
  calls: SimulatedCall[];
  /** Stack outputs as the engine receives them; secrets stay wrapped. */
  outputs: Record<string, unknown>;
}

/** The program failed; `resources` are those declared before it did. */
export class SimulationError extends Error {
  constructor(
    cause: unknown,
    readonly resources: SimulatedResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'SimulationError';
  }
}

interface ConfigDeclaration {
  type: 'string' | 'integer' | 'boolean' | 'array';
  default: unknown;
}

interface ConfigEntry {
  value: unknown;
  secret: boolean;
}

/** True for a value the engine would store encrypted. */
export function isSecretValue(value: unknown): value is { value: unknown } {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

/** The value with every secret wrapper removed (for assertions, never for printing). */
export function reveal(value: unknown): unknown {
  if (isSecretValue(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  return value;
}

function readYaml(file: string): Record<string, unknown> {
  return (parse(readFileSync(path.join(ROOT, file), 'utf8')) ?? {}) as Record<string, unknown>;
}

const TYPE_CHECKS: Record<ConfigDeclaration['type'], (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  integer: (value) => Number.isInteger(typeof value === 'string' ? Number(value) : value),
  boolean: (value) => typeof value === 'boolean' || value === 'true' || value === 'false',
  array: Array.isArray,
};

/** The config the Pulumi CLI would hand the program for this stack, as PULUMI_CONFIG entries. */
function resolveStackConfig(stack: string, options: SimulateOptions = {}): { config: Record<string, string>; secretKeys: string[] } {
  const project = readYaml('Pulumi.yaml') as { name: string; config: Record<string, ConfigDeclaration> };
  const stackFile = readYaml(`Pulumi.${stack}.yaml`) as { config?: Record<string, unknown> };
  const qualify = (key: string) => (key.includes(':') ? key : `${project.name}:${key}`);
  const entries = new Map<string, ConfigEntry>();

  for (const [key, value] of Object.entries(stackFile.config ?? {})) {
    // Ciphertext (`secure:`) cannot be decrypted here; a placeholder stands in for it.
    const secure = typeof value === 'object' && value !== null && 'secure' in value;
    entries.set(key, secure ? { value: PLACEHOLDERS.secret(key), secret: true } : { value, secret: false });
  }
  for (const [key, value] of Object.entries(PLACEHOLDERS.plain)) {
    if (!entries.has(qualify(key))) entries.set(qualify(key), { value, secret: false });
  }
  for (const [key, declaration] of Object.entries(project.config)) {
    if (!entries.has(qualify(key))) entries.set(qualify(key), { value: declaration.default, secret: false });
  }
  for (const [key, { generated }] of Object.entries(SECRET_KEYS)) {
    if (!generated && !entries.has(qualify(key))) entries.set(qualify(key), { value: PLACEHOLDERS.secret(key), secret: true });
  }
  for (const [key, value] of Object.entries(options.config ?? {})) entries.set(qualify(key), { value, secret: false });
  for (const [key, value] of Object.entries(options.secrets ?? {})) entries.set(qualify(key), { value, secret: true });
  for (const key of options.unset ?? []) entries.delete(qualify(key));

  // The CLI's own check on declared keys (every one has a default; infra/config/ says which are required when).
  for (const [key, declaration] of Object.entries(project.config)) {
    const entry = entries.get(qualify(key));
    if (entry !== undefined && !TYPE_CHECKS[declaration.type](entry.value)) {
      throw new Error(`Stack '${stack}' with configuration key '${key}' must be of type '${declaration.type}'`);
    }
  }

  const config: Record<string, string> = {};
  for (const [key, { value }] of entries) config[key] = typeof value === 'string' ? value : JSON.stringify(value);
  const secretKeys = [...entries].filter(([, entry]) => entry.secret).map(([key]) => key);
  return { config, secretKeys };
}

const stableHash = (text: string) => createHash('sha256').update(text).digest('hex');

/** Deterministic stand-ins for what AWS would compute, so plans and snapshots are stable. */
function mockState(args: pulumi.runtime.MockResourceArgs, region: string): Record<string, unknown> {
  const { type, name, inputs } = args;
  const service = type.split(':')[1]?.split('/')[0] ?? 'unknown';
  const arn = `arn:aws:${service}:${region}:${ACCOUNT}:${name}`;
  switch (type) {
    case 'random:index/randomPassword:RandomPassword': {
      const alphabet = stableHash(name).replace(/[^A-Za-z0-9]/g, '');
      return { result: alphabet.repeat(Math.ceil(inputs.length / alphabet.length)).slice(0, inputs.length) };
    }
    case 'aws:s3/bucket:Bucket': {
      const bucket = inputs.bucket ?? `${name}-${stableHash(name).slice(0, 7)}`;
      return { bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case 'aws:ec2/eip:Eip':
      return { publicIp: '203.0.113.10', publicDns: `ec2-203-0-113-10.${region}.compute.amazonaws.com`, arn };
    case 'aws:ec2/instance:Instance':
      return { arn, publicIp: '198.51.100.7', publicDns: `ec2-198-51-100-7.${region}.compute.amazonaws.com` };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:${inputs.name}` };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return { arn: `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${inputs.name}` };
    case 'aws:route53/record:Record':
      return { fqdn: inputs.name };
    case 'aws:ec2/keyPair:KeyPair':
      return { keyName: name, arn };
    case 'aws:kms/key:Key':
      return { keyId: stableHash(name).slice(0, 36), arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${stableHash(name).slice(0, 36)}` };
    case 'aws:iam/role:Role':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
    case 'aws:iam/instanceProfile:InstanceProfile':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}` };
    case 'aws:iam/user:User':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:user${inputs.path ?? '/'}${name}` };
    case 'aws:iam/accessKey:AccessKey':
      return { secret: `placeholder-secret-access-key-${stableHash(name).slice(0, 24)}` };
    case 'aws:ecr/repository:Repository':
      return { arn, name, registryId: ACCOUNT, repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}` };
    case 'docker:index/image:Image':
      // A local image's repoDigest is its ID, a pushed one's repository@digest; both follow the build.
      return { repoDigest: `${inputs.skipPush ? '' : `${String(inputs.imageName).split(':')[0]}@`}sha256:${stableHash(JSON.stringify(inputs.build))}` };
    case 'command:remote:Command':
    case 'command:local:Command':
      return { stdout: '', stderr: '' };
    default:
      return { arn };
  }
}

function mockCall(args: pulumi.runtime.MockCallArgs, region: string): Record<string, unknown> {
  const { token, inputs } = args;
  switch (token) {
    case 'aws:route53/getZone:getZone':
      if (!(MOCK_ACCOUNT.hostedZones as readonly string[]).includes(inputs.name)) throw new Error('no matching Route 53 Hosted Zone found');
      return { zoneId: `Z${stableHash(inputs.name).slice(0, 12).toUpperCase()}`, name: inputs.name };
    case 'aws:ssm/getParameter:getParameter': {
      const ami = `ami-${stableHash(inputs.name).slice(0, 17)}`;
      return { name: inputs.name, type: 'String', value: ami, insecureValue: ami };
    }
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
    case 'aws:index/getServicePrincipal:getServicePrincipal':
      return { name: `${inputs.serviceName}.amazonaws.com`, suffix: 'amazonaws.com', id: inputs.serviceName };
    case 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings':
      return { locations: [`${region}b`, `${region}a`], instanceTypes: [], locationTypes: [] };
    case 'aws:ec2/getVpc:getVpc':
      return { id: 'vpc-0default' };
    case 'aws:ec2/getSubnets:getSubnets':
      return { ids: ['subnet-0default-b', 'subnet-0default-a'] };
    case 'aws:index/getRegion:getRegion':
      return { region, name: region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { userName: 'AWS', password: 'placeholder-ecr-token', authorizationToken: 'placeholder', proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${region}.amazonaws.com`, expiresAt: '', id: ACCOUNT };
    default:
      throw new Error(`the simulation does not mock ${token}`);
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getDeletedwith(): string;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}
type Callback = (error: unknown, response?: { getUrn(): string }) => void;
interface RecordingMonitor {
  registerResource(request: RegisterRequest, callback: Callback): Promise<void>;
  /** The mock monitor keeps each resource's last state; for components, what registerOutputs sent. */
  resources: Map<string, { urn: string; state: unknown }>;
}

/** The value with its promises awaited: the SDK deserializes an asset's path as one. */
async function settled(value: unknown): Promise<unknown> {
  if (value instanceof Promise) return settled(await value);
  if (Array.isArray(value)) return Promise.all(value.map(settled));
  if (typeof value === 'object' && value !== null) {
    const entries = await Promise.all(Object.entries(value).map(async ([key, inner]) => [key, await settled(inner)] as const));
    return Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as object, Object.fromEntries(entries));
  }
  return value;
}

function customTimeouts(request: RegisterRequest): SimulatedResource['customTimeouts'] {
  const timeouts = request.getCustomtimeouts();
  const set = { create: timeouts?.getCreate(), update: timeouts?.getUpdate(), delete: timeouts?.getDelete() };
  return Object.fromEntries(Object.entries(set).filter(([, value]) => value));
}

/** registerOutputs hands the monitor a protobuf Struct; resource registration a plain object. */
function plainState(state: unknown): Record<string, unknown> {
  if (typeof state === 'object' && state !== null && typeof (state as { toJavaScript?: unknown }).toJavaScript === 'function') {
    return (state as { toJavaScript(): Record<string, unknown> }).toJavaScript();
  }
  return (state ?? {}) as Record<string, unknown>;
}

// The runtime is process-global: one simulation at a time.
let running: Promise<unknown> = Promise.resolve();

/** Evaluates the whole stack program for `stack` under mocks and returns its resource graph. */
export function simulate(stack: string, options: SimulateOptions = {}): Promise<Simulation> {
  const run = running.then(() => simulateNow(stack, options));
  running = run.catch(() => undefined);
  return run;
}

async function simulateNow(stack: string, options: SimulateOptions): Promise<Simulation> {
  const { config, secretKeys } = resolveStackConfig(stack, options);
  const region = config['aws:region'] ?? 'us-east-1';
  pulumi.runtime.setAllConfig(config, secretKeys);
  const calls: SimulatedCall[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: args.custom ? `${args.name}-id${options.replaced?.includes(args.name) ? '-replacement' : ''}` : undefined,
        state: { ...args.inputs, ...mockState(args, region) },
      }),
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs, provider: args.provider ?? '' });
        return mockCall(args, region);
      },
    },
    'clawdbot',
    stack,
  );

  // Record what the engine would learn about each resource: parent, provider and options.
  const resources: SimulatedResource[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as RecordingMonitor;
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) =>
    registerResource(request, (error, response) => {
      if (!error && response) {
        resources.push({
          urn: response.getUrn(),
          type: request.getType(),
          name: request.getName(),
          parent: request.getParent() || undefined,
          provider: request.getProvider() || undefined,
          dependencies: request.getDependenciesList(),
          custom: request.getCustom(),
          protect: request.getProtect(),
          retainOnDelete: request.getRetainondelete(),
          ignoreChanges: request.getIgnorechangesList(),
          additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
          customTimeouts: customTimeouts(request),
          deletedWith: request.getDeletedwith() || undefined,
          inputs: pulumi.runtime.deserializeProperties(request.getObject()),
          outputs: {},
        });
      }
      callback(error, response);
    });

  // The program's own error (bad config) is caught at the top, as the CLI's language host would
  // report it. A failure inside a resource's inputs surfaces as unhandled rejections of the
  // runtime's internal promises instead: collect those and mark them handled (the first is
  // rethrown below). Under jest, whose `process` is a sandbox, they reach jest instead.
  const failures: unknown[] = [];
  const onRejection = (reason: unknown, promise: Promise<unknown>) => {
    failures.push(reason);
    promise.catch(() => undefined);
  };
  process.on('unhandledRejection', onRejection);
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      try {
        return await (options.program ?? stackProgram)();
      } catch (error) {
        failures.unshift(error);
        return {};
      }
    });
  } finally {
    await pulumi.runtime.disconnect();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onRejection);
  }
  if (failures.length > 0) throw new SimulationError(failures[0], resources);

  for (const resource of resources) {
    resource.inputs = (await settled(resource.inputs)) as Record<string, unknown>;
    if (!resource.custom) resource.outputs = plainState(monitor.resources.get(resource.urn)?.state);
  }
  const root = resources.find((resource) => resource.parent === undefined);
  return { stack, config, resources, calls, outputs: root?.outputs ?? {} };
}
