import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { Deployment, type DeploymentArgs } from '../../components/deployment';

// Evaluates the Deployment component under Pulumi's mock runtime and records every child:
// its inputs as the engine receives them (secrets still wrapped) and the options it was
// declared with (dependsOn, customTimeouts, additionalSecretOutputs, ...).

export interface SimulatedChild {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  dependsOn: string[];
  options: pulumi.ResourceOptions & pulumi.CustomResourceOptions;
}

export const REPO_ROOT = path.join(__dirname, '..', '..');

export const SECRETS = {
  CLAWDBOT_API_KEYS: 'sk-gateway-0123456789abcdef',
  MODEL_API_KEY: 'sk-model-secret-9876543210',
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n-----END OPENSSH PRIVATE KEY-----',
} as const;

export function baseArgs(): DeploymentArgs {
  return {
    connection: { host: '203.0.113.10', port: 2222, user: 'ubuntu', privateKey: pulumi.secret(SECRETS.privateKey) },
    hostId: 'i-0123456789abcdef0',
    platform: 'linux/arm64',
    build: { context: REPO_ROOT, dockerfile: path.join(REPO_ROOT, 'app', 'Dockerfile') },
    imageTransport: 'ssh',
    environment: pulumi.secret({ CLAWDBOT_API_KEYS: SECRETS.CLAWDBOT_API_KEYS, MODEL_API_KEY: SECRETS.MODEL_API_KEY, MODEL_NAME: 'deepseek-chat' }),
    domain: 'bot.example.com',
    restoreOnBoot: 'latest',
  };
}

const SECRET_SIG = pulumi.runtime.specialSecretSig;

export function isSecret(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === SECRET_SIG;
}

/** The value with secret wrappers removed. */
export function reveal(value: unknown): unknown {
  if (isSecret(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, reveal(inner)]));
  return value;
}

/** Every string inside a value, secret or not. */
export function strings(value: unknown): string[] {
  const revealed = reveal(value);
  if (typeof revealed === 'string') return [revealed];
  if (Array.isArray(revealed)) return revealed.flatMap(strings);
  if (typeof revealed === 'object' && revealed !== null) return Object.values(revealed).flatMap(strings);
  return [];
}

function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'docker:index/image:Image':
      // A local image's repoDigest is its ID; it follows the build inputs.
      return { ...inputs, repoDigest: `sha256:${createHash('sha256').update(JSON.stringify(inputs)).digest('hex')}` };
    case 'command:remote:Command':
      return { ...inputs, stdout: name.endsWith('probe-image') ? 'missing\n' : '', stderr: '' };
    case 'command:local:Command':
      return { ...inputs, stdout: '', stderr: '' };
    case 'aws:ecr/repository:Repository':
      return { ...inputs, repositoryUrl: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}`, registryId: '123456789012', name };
    default:
      return inputs;
  }
}

function mockCall(token: string): Record<string, unknown> {
  switch (token) {
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { userName: 'AWS', password: 'ecr-token-secret', authorizationToken: 'x', proxyEndpoint: 'https://x', expiresAt: 'x', id: 'x' };
    case 'aws:index/getRegion:getRegion':
      return { region: 'us-east-1', name: 'us-east-1', id: 'us-east-1', endpoint: 'x', description: 'x' };
    default:
      return {};
  }
}

async function urnOf(resource: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => resource.urn.apply(resolve));
}

/** Declares a Deployment with `args` and resolves once every child reached the engine. */
export async function simulateDeployment(args: DeploymentArgs): Promise<{ children: SimulatedChild[]; deployment: Deployment }> {
  const received = new Map<string, { type: string; inputs: Record<string, unknown> }>();
  pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        received.set(name, { type, inputs });
        return { id: `${name}-id`, state: mockState(type, name, reveal(inputs) as Record<string, unknown>) };
      },
      call: ({ token }) => mockCall(token),
    },
    'clawdbot',
    'test',
    false,
  );
  const declared: Array<{ name: string; options: SimulatedChild['options'] }> = [];
  const deployment = new Deployment('bot', args, {
    transformations: [
      ({ name, props, opts }) => {
        declared.push({ name, options: opts });
        return { props, opts };
      },
    ],
  });
  await new Promise((resolve) => deployment.release.apply(resolve));
  for (let waited = 0; declared.some(({ name }) => !received.has(name)); waited += 10) {
    if (waited > 10_000) throw new Error(`never registered: ${declared.filter(({ name }) => !received.has(name)).map(({ name }) => name)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const children: SimulatedChild[] = [];
  for (const { name, options } of declared) {
    const dependencies = ([] as pulumi.Resource[]).concat((options.dependsOn as pulumi.Resource[] | pulumi.Resource | undefined) ?? []);
    const dependsOn = await Promise.all(dependencies.map(async (resource) => (await urnOf(resource)).split('::').at(-1)!));
    const { type, inputs } = received.get(name)!;
    children.push({ type, name, inputs, dependsOn, options });
  }
  return { children, deployment };
}

export function child(children: SimulatedChild[], name: string): SimulatedChild {
  const found = children.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no child ${name}; children: ${children.map((c) => c.name).join(', ')}`);
  return found;
}

/** Whether `from` depends on `to`, directly or through other children. */
export function dependsOn(children: SimulatedChild[], from: string, to: string): boolean {
  const seen = new Set<string>();
  const visit = (name: string): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const node = children.find((candidate) => candidate.name === name);
    return node !== undefined && node.dependsOn.some((dependency) => dependency === to || visit(dependency));
  };
  return visit(from);
}
