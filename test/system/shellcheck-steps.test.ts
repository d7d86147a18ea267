import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { planRelease } from '../../components/scripts/plan';
import { authorizeKeyCommand } from '../../components/scripts/authorize-key';
import { pullImageCommand } from '../../components/scripts/image';
import { installBackupTimerCommand } from '../../components/scripts/install-backup-timer';
import { installToolsCommand, renderBackupTool, renderRestoreTool } from '../../components/scripts/install-tools';
import { isOnCalendar } from '../../components/scripts/on-calendar';
import { removeCommand, rollbackCommand } from '../../components/scripts/release';
import { DEFAULT_HOST_STEP_SETTINGS } from '../../components/scripts/render';
import { restoreOnBootCommand } from '../../components/scripts/restore-on-boot';
import { waitForHostCommand } from '../../components/scripts/wait-for-host';

// Every host step as it is rendered (its parameters, lib/ and its body) passes shellcheck, and
// so do the host tools the steps install. Debian's shellcheck (.ci/apt/system.txt).

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
  'wait-for-host': body(waitForHostCommand('linux/arm64')),
  'probe-image': body(plan.probeImage),
  'save-image': body(plan.saveImage('missing')),
  'load-image': body(plan.loadImage),
  'pull-image': body(pullImageCommand({ imageRef: '123456789012.dkr.ecr.us-east-1.amazonaws.com/bot@sha256:00', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', region: 'us-east-1', release: plan.release })),
  'write-env': body(plan.writeEnv),
  'install-tools': body(installToolsCommand('i-0123456789abcdef0')),
  'install-backup-timer': body(installBackupTimerCommand('Mon..Fri 01:30')),
  'authorize-key': body(authorizeKeyCommand('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBK deploy@laptop')),
  'restore-on-boot': body(restoreOnBootCommand('latest')),
  activate: body(plan.activate),
  rollback: body(rollbackCommand(undefined)),
  remove: body(removeCommand('i-0123456789abcdef0')),
  'backup (host tool)': renderBackupTool(),
  'restore (host tool)': renderRestoreTool(),
};

test.each(Object.entries(scripts))('%s passes shellcheck', async (_, script) => {
  const child = run('shellcheck', ['--shell=bash', '--severity=style', '-'], { encoding: 'utf8' });
  child.child.stdin?.end(script);
  await expect(child).resolves.toMatchObject({ stdout: '' });
});

test.each(['docker-compose-shim.sh', 'pulumi-stand-in.sh'])("the e2e harness's %s passes shellcheck", async (file) => {
  await expect(run('shellcheck', [path.join(__dirname, '..', 'e2e', 'harness', file)])).resolves.toMatchObject({ stdout: '' });
});

// The backup timer's schedule is checked before it reaches a host (infra/config/backups.ts, renderBackupUnits):
// the check must accept what systemd accepts and refuse what it refuses. Debian's systemd-analyze.
describe('the backup schedule check agrees with systemd', () => {
  const samples = [
    'daily',
    'hourly',
    'semiannually',
    'daily UTC',
    'weekly Asia/Shanghai',
    'Mon',
    'mon 03:00',
    'Mon..Fri *-*-* 01:30:00',
    'Monday,Wed 3:00',
    'Sat,Sun 10:00:00.5',
    '*-*-* 02:30:00',
    '*-*-1..7 4:00',
    '*-02~01',
    '2025-01-01',
    '*:0/15',
    '*-*-* 00/2:00',
    'Mon,Fri 5..7:00',
    '',
    'hourly ',
    'tomorrow',
    'every day',
    '25:00',
    '*-*-* 24:00',
    '*-*-* 1:60',
    '00:00:60',
    '*-13-01',
    '1969-01-01 00:00',
    '*-*-* 3',
    'Fri..Mon',
    'Mon Tue',
    'daily; rm -rf /',
    'daily\nExecStart=/bin/sh',
  ];

  test.each(samples)('%p', async (schedule) => {
    const systemd = await run('systemd-analyze', ['calendar', schedule]).then(
      () => true,
      () => false,
    );
    expect({ schedule, accepted: isOnCalendar(schedule) }).toEqual({ schedule, accepted: systemd });
  });
});
