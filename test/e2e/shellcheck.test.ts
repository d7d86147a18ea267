import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { planRelease } from '../../components/scripts/plan';
import {
  DEFAULT_HOST_STEP_SETTINGS,
  installToolsCommand,
  pullImageCommand,
  removeCommand,
  renderBackupTool,
  renderRestoreTool,
  restoreOnBootCommand,
  rollbackCommand,
  waitForHostCommand,
} from '../../components/scripts/render';

// Every host step as it is rendered (its parameters, lib.sh and its body) passes shellcheck, and
// so do the host tools the steps install. Debian's shellcheck (.ci/apt/e2e.txt).

const run = promisify(execFile);

/** The script inside a step's `bash /dev/fd/3 3<<'CLAWDBOT_STEP' ... CLAWDBOT_STEP` wrapper. */
function body(command: string): string {
  const lines = command.trimEnd().split('\n');
  expect(lines[0]).toBe("bash /dev/fd/3 3<<'CLAWDBOT_STEP'");
  expect(lines.at(-1)).toBe('CLAWDBOT_STEP');
  return lines.slice(1, -1).join('\n');
}

const plan = planRelease({
  imageId: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  proxy: { domain: 'bot.example.com' },
  settings: DEFAULT_HOST_STEP_SETTINGS,
  localArchive: '/tmp/clawdbot-images/bot.tar.gz',
});

const scripts: Record<string, string> = {
  'wait-for-host': body(waitForHostCommand()),
  'probe-image': body(plan.probeImage),
  'save-image': body(plan.saveImage('missing')),
  'load-image': body(plan.loadImage),
  'pull-image': body(pullImageCommand({ imageRef: '123456789012.dkr.ecr.us-east-1.amazonaws.com/bot@sha256:00', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', region: 'us-east-1', release: plan.release })),
  'write-env': body(plan.writeEnv),
  'install-tools': body(installToolsCommand()),
  'restore-on-boot': body(restoreOnBootCommand('latest')),
  activate: body(plan.activate),
  rollback: body(rollbackCommand(undefined)),
  remove: body(removeCommand()),
  'backup (host tool)': renderBackupTool(),
  'restore (host tool)': renderRestoreTool(),
};

test.each(Object.entries(scripts))('%s passes shellcheck', async (_, script) => {
  const child = run('shellcheck', ['--shell=bash', '--severity=style', '-'], { encoding: 'utf8' });
  child.child.stdin?.end(script);
  await expect(child).resolves.toMatchObject({ stdout: '' });
});

test("the test host's compose shim passes shellcheck", async () => {
  await expect(run('shellcheck', [path.join(__dirname, 'harness', 'docker-compose-shim.sh')])).resolves.toMatchObject({ stdout: '' });
});
