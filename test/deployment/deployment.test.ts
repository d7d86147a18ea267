import * as pulumi from '@pulumi/pulumi';
import { HOST_PATHS } from '../../app/src/contract';
import { Deployment, type DeploymentArgs } from '../../components/single-host/deployment';
import { isSecretValue, simulate, type SimulatedResource, type Simulation } from '../../infra/simulate';
import { inputs, named, only, strings, waitsFor } from '../infra/graph';

// The Deployment component on its own, under the stack's mock runtime (infra/simulate.ts), with
// arguments no config key sets: the order of its steps, what reaches command text, what re-runs
// when, and how secrets travel. test/infra/stack.test.ts checks it wired into the whole stack.

jest.setTimeout(60_000);

const SECRETS = {
  CLAWDBOT_API_KEYS: 'sk-gateway-0123456789abcdef',
  MODEL_API_KEY: 'sk-model-secret-9876543210',
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n-----END OPENSSH PRIVATE KEY-----',
  backupSecretKey: 'backup-user-secret-access-key-000',
} as const;

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestHostxxxxxxxxxxxxxxxxxxxxx';

function baseArgs(): DeploymentArgs {
  return {
    connection: { host: '203.0.113.10', port: 2222, user: 'ubuntu', privateKey: pulumi.secret(SECRETS.privateKey), hostKey: HOST_KEY, unreachableHint: 'Check the tunnel.' },
    hostId: 'i-0123456789abcdef0',
    platform: 'linux/arm64',
    build: { context: '.', dockerfile: 'app/Dockerfile' },
    imageTransport: 'ssh',
    environment: pulumi.secret({ CLAWDBOT_API_KEYS: SECRETS.CLAWDBOT_API_KEYS, MODEL_API_KEY: SECRETS.MODEL_API_KEY, MODEL_NAME: 'deepseek-chat' }),
    domain: 'bot.example.com',
    restoreOnBoot: 'latest',
  };
}

function deploy(args: DeploymentArgs): Promise<Simulation> {
  return simulate('dev', {
    program: () => {
      const deployment = new Deployment('bot', args);
      return { release: deployment.release };
    },
  });
}

const COMMAND_TYPES = new Set(['command:remote:Command', 'command:local:Command']);
const commands = (simulation: Simulation) => simulation.resources.filter((resource) => COMMAND_TYPES.has(resource.type));
/** A step by its name; `image` is the docker.Image (the ECR repository shares its name). */
const step = (simulation: Simulation, name: string) => (name === 'image' ? only(simulation, 'docker:index/image:Image') : named(simulation, `bot-${name}`));
const waits = (simulation: Simulation, from: string, to: string) => waitsFor(simulation, step(simulation, from), step(simulation, to));
/** Each child's inputs, secrets revealed, by name. */
const inputsByName = (simulation: Simulation) =>
  Object.fromEntries(simulation.resources.filter((resource) => resource.custom).map((resource) => [resource.name, inputs(resource)]));

describe('Deployment over SSH', () => {
  let simulation: Simulation;

  beforeAll(async () => {
    simulation = await deploy(baseArgs());
  });

  test('is one component whose steps run image → readiness → ship → activate', () => {
    const deployment = simulation.resources.find((resource) => resource.type === 'clawdbot:deployment:Deployment')!;
    for (const resource of simulation.resources.filter((r) => r.custom && !r.type.startsWith('pulumi:'))) expect(resource.parent).toBe(deployment.urn);
    expect(waits(simulation, 'ship-image', 'image')).toBe(true);
    expect(waits(simulation, 'ship-image', 'readiness')).toBe(true);
    expect(waits(simulation, 'load-image', 'ship-image')).toBe(true);
    expect(waits(simulation, 'activate', 'load-image')).toBe(true);
    // The config files, the env file, the host tools and the restore on boot all land before activation.
    for (const name of ['config-compose-yaml', 'config-caddyfile', 'env-file', 'host-tools', 'restore-on-boot']) {
      expect({ name, beforeActivate: waits(simulation, 'activate', name), afterReadiness: waits(simulation, name, 'readiness') }).toEqual({ name, beforeActivate: true, afterReadiness: true });
    }
    expect(waits(simulation, 'restore-on-boot', 'host-tools')).toBe(true);
    // Reaching the host is the first step: it waits on nothing of this component; readiness on it.
    expect(step(simulation, 'reach-host').dependencies).toEqual([]);
    expect(waits(simulation, 'readiness', 'reach-host')).toBe(true);
  });

  test('waits for a booting host with a bounded local step that says what to check, then readiness checks its CPU', () => {
    const reach = step(simulation, 'reach-host');
    expect(inputs(reach).create).toBe('npx tsx components/scripts/reach-host.ts');
    expect(inputs(reach).environment).toMatchObject({ CLAWDBOT_SSH_HOST: '203.0.113.10', CLAWDBOT_SSH_PORT: '2222', CLAWDBOT_SSH_HOST_KEY: HOST_KEY, CLAWDBOT_SSH_UNREACHABLE_HINT: 'Check the tunnel.' });
    expect(isSecretValue(inputs(reach).environment) || isSecretValue(reach.inputs.environment)).toBe(true);
    expect(reach.customTimeouts).toEqual({ create: '40m' });
    const readiness = step(simulation, 'readiness');
    expect(inputs(readiness).connection).toMatchObject({ dialErrorLimit: 10, host: '203.0.113.10', port: 2222, user: 'ubuntu', hostKey: HOST_KEY });
    expect(inputs(readiness).create).toContain('cloud-init status --wait');
    expect(inputs(readiness).create).toContain('docker_cli info');
    expect(inputs(readiness).create).toContain("PLATFORM='linux/arm64'\nMACHINE='aarch64'");
  });

  test('the image is built for the host platform from the repository root, and stays local on the SSH path', () => {
    const image = inputs(step(simulation, 'image'));
    expect(image.skipPush).toBe(true);
    expect(image.build).toMatchObject({ platform: 'linux/arm64', context: '.', dockerfile: 'app/Dockerfile' });
    expect(image.build.args).toBeUndefined();
  });

  test('no secret appears in the text of any command, and the env file travels on stdin', () => {
    for (const command of commands(simulation)) {
      const text = strings([command.inputs.create, command.inputs.update, command.inputs.delete]).join('\n');
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    }
    const envFile = step(simulation, 'env-file');
    expect(isSecretValue(envFile.inputs.stdin)).toBe(true);
    expect(inputs(envFile).stdin).toContain(`MODEL_API_KEY=${SECRETS.MODEL_API_KEY}\n`);
    expect(inputs(envFile).create).toContain(`ENV_FILE='${HOST_PATHS.envFile}'`);
  });

  test('steps whose output could hold a secret log nothing and keep their output secret', () => {
    const envFile = step(simulation, 'env-file');
    expect(inputs(envFile)).toMatchObject({ logging: 'none', addPreviousOutputInEnv: false });
    expect(envFile.additionalSecretOutputs).toEqual(expect.arrayContaining(['stdout', 'stderr']));
    // The SSH key is a secret wherever it goes.
    for (const resource of simulation.resources.filter((candidate) => candidate.inputs.connection !== undefined)) {
      const connection = resource.inputs.connection as Record<string, unknown>;
      expect({ resource: resource.name, secret: isSecretValue(connection) || isSecretValue(connection.privateKey) }).toEqual({ resource: resource.name, secret: true });
    }
  });

  test('deletion stops the services from where Pulumi runs, with the key in its environment, and only there', () => {
    const teardown = step(simulation, 'teardown');
    expect(teardown.type).toBe('command:local:Command');
    expect(inputs(teardown).create).toBeUndefined();
    expect(inputs(teardown).delete).toBe('npx tsx components/scripts/remove-from-host.ts');
    const environment = teardown.inputs.environment as Record<string, unknown>;
    expect(isSecretValue(environment) || isSecretValue(environment.CLAWDBOT_SSH_PRIVATE_KEY)).toBe(true);
    // It tells the host which deployment it stops: a replaced host's address may serve the new one.
    expect(inputs(teardown).environment.CLAWDBOT_HOST_ID).toBe('i-0123456789abcdef0');
    expect(inputs(step(simulation, 'host-tools')).create).toContain("HOST_ID='i-0123456789abcdef0'");
    // A replaced activation must not stop the release it just started: no other step deletes.
    for (const command of commands(simulation).filter((candidate) => candidate !== teardown)) expect(command.inputs.delete).toBeUndefined();
  });

  test('every host step carries the host id in its triggers, so that a new host gets all of them again', () => {
    for (const resource of simulation.resources.filter((candidate) => candidate.type.startsWith('command:'))) {
      expect({ resource: resource.name, triggers: strings(resource.inputs.triggers) }).toEqual({ resource: resource.name, triggers: expect.arrayContaining(['i-0123456789abcdef0']) });
    }
  });

  test('the release and the archive paths are relative to the repository root: plans read the same everywhere', () => {
    expect(inputs(step(simulation, 'config-compose-yaml')).source).toMatchObject({ path: 'app/compose.yaml' });
    expect(inputs(step(simulation, 'save-image')).create).toContain("ARCHIVE='node_modules/.cache/clawdbot-images/bot.tar.gz'");
    expect(JSON.stringify(simulation.resources.map((resource) => resource.inputs))).not.toContain(process.cwd());
  });
});

describe('re-running steps', () => {
  test('the same inputs give the same steps: nothing re-runs on its own', async () => {
    expect(inputsByName(await deploy(baseArgs()))).toEqual(inputsByName(await deploy(baseArgs())));
  });

  test('a changed env file re-runs the env step and the activation, and ships nothing', async () => {
    const before = inputsByName(await deploy(baseArgs()));
    const args = baseArgs();
    args.environment = pulumi.secret({ CLAWDBOT_API_KEYS: SECRETS.CLAWDBOT_API_KEYS, MODEL_API_KEY: 'sk-model-rotated-000000' });
    const after = inputsByName(await deploy(args));
    const changed = Object.keys(after).filter((name) => JSON.stringify(after[name]) !== JSON.stringify(before[name]));
    expect(changed.sort()).toEqual(['bot-activate', 'bot-env-file']);
    // Same release (image and config files), new triggers.
    expect(after['bot-activate'].create).toBe(before['bot-activate'].create);
  });

  test('a changed image re-runs the ship steps and the activation', async () => {
    const before = inputsByName(await deploy(baseArgs()));
    const args = baseArgs();
    args.build = { ...args.build, baseImage: 'registry.example.cn/library/node:22-bookworm-slim' };
    const after = inputsByName(await deploy(args));
    expect(after['bot-image'].build.args).toEqual({ BASE_IMAGE: 'registry.example.cn/library/node:22-bookworm-slim' });
    for (const name of ['bot-image', 'bot-probe-image', 'bot-save-image', 'bot-ship-image', 'bot-load-image', 'bot-activate']) {
      expect({ name, changed: JSON.stringify(after[name]) !== JSON.stringify(before[name]) }).toEqual({ name, changed: true });
    }
    for (const name of ['bot-readiness', 'bot-host-tools', 'bot-restore-on-boot', 'bot-env-file']) expect(after[name]).toEqual(before[name]);
  });

  test('a changed domain is a new release without a new image', async () => {
    const before = inputsByName(await deploy(baseArgs()));
    const after = inputsByName(await deploy({ ...baseArgs(), domain: 'chat.example.com' }));
    expect(after['bot-activate'].create).not.toBe(before['bot-activate'].create);
    expect(after['bot-activate'].create).toContain("DOMAIN='chat.example.com'");
    expect(after['bot-image']).toEqual(before['bot-image']);
  });

  test('a new host runs every step again, the restore on boot included', async () => {
    const before = inputsByName(await deploy(baseArgs()));
    const after = inputsByName(await deploy({ ...baseArgs(), hostId: 'i-0fedcba9876543210' }));
    const unchanged = Object.keys(after).filter((name) => JSON.stringify(after[name]) === JSON.stringify(before[name]));
    expect(unchanged).toEqual([]);
  });
});

describe('a host without cloud-init that backs up', () => {
  let simulation: Simulation;
  const settings = { BACKUP_BUCKET: 'clawdbot-home-backups', BACKUP_PREFIX: 'clawdbot-home/', AWS_ACCESS_KEY_ID: 'AKIAPLACEHOLDER', AWS_SECRET_ACCESS_KEY: SECRETS.backupSecretKey };

  beforeAll(async () => {
    simulation = await deploy({ ...baseArgs(), hostId: '192.0.2.20:22', hostBackup: { settings: pulumi.secret(settings), schedule: 'Mon..Fri 01:30' } });
  });

  test('gets its backup settings, the access key among them, on stdin only, before the restore on boot', () => {
    const step_ = step(simulation, 'backup-settings');
    expect(isSecretValue(step_.inputs.stdin)).toBe(true);
    expect(inputs(step_).stdin).toBe(Object.entries(settings).map(([key, value]) => `${key}=${value}\n`).join(''));
    expect(inputs(step_).create).toContain(`ENV_FILE='${HOST_PATHS.backupEnv}'`);
    expect(inputs(step_).create).not.toContain(SECRETS.backupSecretKey);
    expect(inputs(step_)).toMatchObject({ logging: 'none', addPreviousOutputInEnv: false });
    expect(step_.additionalSecretOutputs).toEqual(expect.arrayContaining(['stdout', 'stderr']));
    expect(waits(simulation, 'restore-on-boot', 'backup-settings')).toBe(true);
  });

  test('gets the backup timer cloud-init would have installed, on its schedule', () => {
    const timer = inputs(step(simulation, 'backup-timer')).create as string;
    expect(timer).toContain("install_unit clawdbot-backup.timer <<'CLAWDBOT_TOOL'");
    expect(timer).toContain('\nOnCalendar=Mon..Fri 01:30\n');
    expect(timer).toContain(`\nExecStart=${HOST_PATHS.backupCommand}\n`);
    expect(timer.trimEnd().split('\n').slice(-2)).toEqual(['enable_backup_timer', 'CLAWDBOT_STEP']);
    expect(waits(simulation, 'restore-on-boot', 'backup-timer')).toBe(true);
  });

  test('a host without backups gets neither', async () => {
    const names = (await deploy(baseArgs())).resources.map((resource) => resource.name);
    expect(names).not.toContain('bot-backup-settings');
    expect(names).not.toContain('bot-backup-timer');
  });
});

describe('Deployment through ECR', () => {
  test('pushes to a repository, lets the host role pull, and pulls on the host instead of copying', async () => {
    const simulation = await deploy({ ...baseArgs(), imageTransport: 'ecr', hostRoleName: 'bot-host-role' });
    const image = inputs(step(simulation, 'image'));
    expect(image.skipPush).not.toBe(true);
    expect(image.registry).toMatchObject({ server: expect.stringContaining('.dkr.ecr.') });
    expect(isSecretValue((step(simulation, 'image').inputs.registry as Record<string, unknown>).password) || isSecretValue(step(simulation, 'image').inputs.registry)).toBe(true);
    expect(inputs(step(simulation, 'image-pull')).role).toBe('bot-host-role');
    expect(simulation.resources.map((resource: SimulatedResource) => resource.name)).not.toContain('bot-ship-image');
    expect(waits(simulation, 'activate', 'pull-image')).toBe(true);
    expect(inputs(step(simulation, 'pull-image')).create).toContain('docker login --username AWS --password-stdin');
    for (const command of commands(simulation)) expect(strings(command.inputs.create).join('')).not.toContain('placeholder-ecr-token');
  });

  test('without the host role it fails, naming the argument', async () => {
    await expect(deploy({ ...baseArgs(), imageTransport: 'ecr' })).rejects.toThrow(/hostRoleName/);
  });
});
