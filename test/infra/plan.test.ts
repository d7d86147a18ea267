import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SECRET_KEYS } from '../../infra/config/secret-keys';
import { renderPlan } from '../../infra/plan';
import { reveal, simulate, type Simulation } from '../../infra/simulate';
import { only, strings } from './graph';

// `npm run plan -- <stack>` prints the resource tree the program declares. The committed
// snapshots below are the infrastructure as a reviewable text: a pull request that changes the
// stack changes them, and the diff shows what moves.

// A whole-program simulation takes seconds on a busy 2-core machine; the default 5 s is not a bound
// on anything this suite asserts.
jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '../..');
const run = promisify(execFile);

const plans = new Map<string, { simulation: Simulation; text: string }>();
beforeAll(async () => {
  for (const stack of ['dev', 'prod']) {
    const simulation = await simulate(stack);
    plans.set(stack, { simulation, text: renderPlan(simulation) });
  }
});

describe.each(['dev', 'prod'])('plan for %s', (stack) => {
  it('matches the committed snapshot', () => {
    expect(plans.get(stack)!.text).toMatchSnapshot();
  });

  it('lists every resource under its parent', () => {
    const { simulation, text } = plans.get(stack)!;
    for (const resource of simulation.resources) expect(text).toContain(`${resource.type} ${resource.name}`);
    expect(text).toMatch(/\n├─ clawdbot:host:Host clawdbot-\w+\n│  ├─ aws:cloudwatch\/logGroup:LogGroup/);
  });

  it('redacts every secret', () => {
    const { simulation, text } = plans.get(stack)!;
    const secrets = [
      ...Object.keys(SECRET_KEYS)
        .map((key) => simulation.config[`clawdbot:${key}`])
        .filter((value): value is string => value !== undefined),
      ...strings(only(simulation, 'clawdbot:secrets:Secrets').outputs),
    ].filter((value) => value.length >= 16);
    expect(secrets).toContain(reveal(simulation.outputs.gatewayApiKey));
    expect(secrets).toContain(simulation.config['clawdbot:sshPrivateKey']);
    for (const secret of secrets) expect(text).not.toContain(secret);
    // The deployment's steps show their parameters, never their secrets.
    expect(text).toMatch(/clawdbot-\w+-env-file\n(?:│.*\n)*?│[│ ]*stdin: "\[secret\]"\n/);
    expect(text).toContain('gatewayApiKey: "[secret]"');
  });
});

describe('npm run plan', () => {
  it('prints the same plan', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'infra/plan.ts', 'dev'], { cwd: ROOT });
    expect(stdout).toBe(plans.get('dev')!.text);
  }, 60_000);

  it('names the stack it cannot find and the stacks that exist', async () => {
    await expect(run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'infra/plan.ts', 'staging'], { cwd: ROOT })).rejects.toMatchObject({
      code: 1,
      stderr: 'no stack "staging": there is no Pulumi.staging.yaml; the stacks are dev, prod\n',
    });
  }, 60_000);
});
