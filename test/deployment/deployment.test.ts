import * as pulumi from '@pulumi/pulumi';
import { HOST_PATHS } from '../../app/src/contract';
import { baseArgs, child, dependsOn, isSecret, reveal, SECRETS, simulateDeployment, strings, type SimulatedChild } from './simulate';

// The Deployment component under Pulumi's mock runtime: the order of its steps, what reaches
// command text, what re-runs when, and how secrets travel.

const COMMAND_TYPES = new Set(['command:remote:Command', 'command:local:Command']);
const commands = (children: SimulatedChild[]) => children.filter((candidate) => COMMAND_TYPES.has(candidate.type));
const input = (resource: SimulatedChild, key: string) => reveal(resource.inputs[key]);

describe('Deployment over SSH', () => {
  let children: SimulatedChild[];

  beforeAll(async () => {
    ({ children } = await simulateDeployment(baseArgs()));
  });

  test('is one component whose steps run image → readiness → ship → activate', () => {
    expect(dependsOn(children, 'bot-ship-image', 'bot-image')).toBe(true);
    expect(dependsOn(children, 'bot-ship-image', 'bot-readiness')).toBe(true);
    expect(dependsOn(children, 'bot-load-image', 'bot-ship-image')).toBe(true);
    expect(dependsOn(children, 'bot-activate', 'bot-load-image')).toBe(true);
    // The config files, the env file and the restore on boot all land before activation.
    for (const step of ['bot-config-compose-yaml', 'bot-config-caddyfile', 'bot-env-file', 'bot-restore-on-boot']) {
      expect(dependsOn(children, 'bot-activate', step)).toBe(true);
      expect(dependsOn(children, step, 'bot-readiness')).toBe(true);
    }
    // Readiness is the first host step: it waits on nothing of this component.
    expect(child(children, 'bot-readiness').dependsOn).toEqual([]);
    expect(dependsOn(children, 'bot-readiness', 'bot-activate')).toBe(false);
  });

  test('readiness keeps dialing a booting host, within a time limit', () => {
    const readiness = child(children, 'bot-readiness');
    expect(input(readiness, 'connection')).toMatchObject({ dialErrorLimit: -1, host: '203.0.113.10', port: 2222, user: 'ubuntu' });
    expect(readiness.options.customTimeouts).toEqual({ create: '30m' });
    expect(input(readiness, 'create')).toContain('cloud-init status --wait');
    expect(input(readiness, 'create')).toContain('docker_cli info');
  });

  test('the image is built for the host platform and stays local on the SSH path', () => {
    const image = child(children, 'bot-image');
    expect(input(image, 'skipPush')).toBe(true);
    expect(input(image, 'build')).toMatchObject({ platform: 'linux/arm64', dockerfile: expect.stringMatching(/app\/Dockerfile$/) });
  });

  test('no secret appears in the text of any command, and the env file travels on stdin', () => {
    for (const command of commands(children)) {
      const text = strings([command.inputs.create, command.inputs.update, command.inputs.delete]).join('\n');
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    }
    const envFile = child(children, 'bot-env-file');
    expect(isSecret(envFile.inputs.stdin)).toBe(true);
    expect(input(envFile, 'stdin')).toContain(`MODEL_API_KEY=${SECRETS.MODEL_API_KEY}\n`);
    expect(input(envFile, 'create')).toContain(`ENV_FILE='${HOST_PATHS.envFile}'`);
  });

  test('steps whose output could hold a secret log nothing and keep their output secret', () => {
    const envFile = child(children, 'bot-env-file');
    expect(input(envFile, 'logging')).toBe('none');
    expect(input(envFile, 'addPreviousOutputInEnv')).toBe(false);
    expect(envFile.options.additionalSecretOutputs).toEqual(expect.arrayContaining(['stdout', 'stderr']));
    // The SSH key is a secret wherever it goes.
    for (const command of children.filter((candidate) => candidate.inputs.connection !== undefined)) {
      expect(isSecret(command.inputs.connection) || isSecret((command.inputs.connection as Record<string, unknown>).privateKey)).toBe(true);
    }
  });

  test('deletion stops the services from where Pulumi runs, with the key in its environment, and only there', () => {
    const teardown = child(children, 'bot-teardown');
    expect(teardown.type).toBe('command:local:Command');
    expect(input(teardown, 'create')).toBeUndefined();
    expect(input(teardown, 'delete')).toMatch(/remove-from-host\.ts$/);
    expect(isSecret(teardown.inputs.environment) || isSecret((teardown.inputs.environment as Record<string, unknown>).CLAWDBOT_SSH_PRIVATE_KEY)).toBe(true);
    // A replaced activation must not stop the release it just started: no other step deletes.
    for (const command of commands(children).filter((candidate) => candidate.name !== 'bot-teardown')) expect(command.inputs.delete).toBeUndefined();
  });

  test('the host steps re-run on a new host: each carries the host id in its triggers', () => {
    for (const command of children.filter((candidate) => candidate.type.startsWith('command:') && candidate.name !== 'bot-save-image')) {
      expect(strings(command.inputs.triggers)).toContain('i-0123456789abcdef0');
    }
  });
});

describe('re-running steps', () => {
  const inputsOf = (children: SimulatedChild[]) => Object.fromEntries(children.map((resource) => [resource.name, reveal(resource.inputs) as Record<string, unknown>]));

  test('the same inputs give the same steps: nothing re-runs on its own', async () => {
    const first = inputsOf((await simulateDeployment(baseArgs())).children);
    const second = inputsOf((await simulateDeployment(baseArgs())).children);
    expect(second).toEqual(first);
  });

  test('a changed env file re-runs the env step and the activation, and ships nothing', async () => {
    const before = inputsOf((await simulateDeployment(baseArgs())).children);
    const args = baseArgs();
    args.environment = pulumi.secret({ CLAWDBOT_API_KEYS: SECRETS.CLAWDBOT_API_KEYS, MODEL_API_KEY: 'sk-model-rotated-000000' });
    const after = inputsOf((await simulateDeployment(args)).children);
    const changed = Object.keys(after).filter((name) => JSON.stringify(after[name]) !== JSON.stringify(before[name]));
    expect(changed.sort()).toEqual(['bot-activate', 'bot-env-file']);
    // Same release (image and config files), new triggers.
    expect(after['bot-activate'].create).toBe(before['bot-activate'].create);
  });

  test('a changed image re-runs the ship steps and the activation', async () => {
    const before = inputsOf((await simulateDeployment(baseArgs())).children);
    const args = baseArgs();
    args.build = { ...args.build, baseImage: 'registry.example.cn/library/node:22-bookworm-slim' };
    const after = inputsOf((await simulateDeployment(args)).children);
    for (const step of ['bot-image', 'bot-probe-image', 'bot-save-image', 'bot-ship-image', 'bot-load-image', 'bot-activate']) {
      expect(JSON.stringify(after[step])).not.toBe(JSON.stringify(before[step]));
    }
    for (const step of ['bot-readiness', 'bot-host-tools', 'bot-restore-on-boot', 'bot-env-file']) expect(after[step]).toEqual(before[step]);
  });

  test('a changed domain is a new release without a new image', async () => {
    const before = inputsOf((await simulateDeployment(baseArgs())).children);
    const after = inputsOf((await simulateDeployment({ ...baseArgs(), domain: 'chat.example.com' })).children);
    expect(after['bot-activate'].create).not.toBe(before['bot-activate'].create);
    expect(after['bot-activate'].create).toContain("DOMAIN='chat.example.com'");
    expect(after['bot-image']).toEqual(before['bot-image']);
  });
});

describe('Deployment through ECR', () => {
  test('pushes to a repository, lets the host role pull, and pulls on the host instead of copying', async () => {
    const { children } = await simulateDeployment({ ...baseArgs(), imageTransport: 'ecr', hostRoleName: 'bot-host-role' });
    const image = child(children, 'bot-image');
    expect(input(image, 'skipPush')).not.toBe(true);
    expect(input(image, 'registry')).toMatchObject({ server: expect.stringContaining('.dkr.ecr.') });
    expect(input(child(children, 'bot-image-pull'), 'role')).toBe('bot-host-role');
    expect(children.map((resource) => resource.name)).not.toEqual(expect.arrayContaining(['bot-ship-image']));
    expect(dependsOn(children, 'bot-activate', 'bot-pull-image')).toBe(true);
    expect(input(child(children, 'bot-pull-image'), 'create')).toContain('docker login --username AWS --password-stdin');
    for (const command of commands(children)) expect(strings(command.inputs.create).join('')).not.toContain('ecr-token-secret');
  });

  test('without the host role it fails, naming the argument', async () => {
    await expect(simulateDeployment({ ...baseArgs(), imageTransport: 'ecr' })).rejects.toThrow(/hostRoleName/);
  });
});
