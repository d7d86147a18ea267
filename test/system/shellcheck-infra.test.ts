import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { renderUserData } from '../../components/single-host/userData';
import { simulate } from '../../infra/simulate';
import { parseCloudConfig, userDataOf, type CloudConfig } from '../infra/graph';

// Every shell fragment the stack ships passes shellcheck (Debian's `shellcheck`, listed in
// .ci/apt/system.txt): the scripts cloud-init writes, as rendered for real stacks, and the `run:`
// steps of the GitHub workflows.

function shellcheck(script: string, shell = 'bash'): string {
  const result = spawnSync('shellcheck', ['--shell', shell, '--severity', 'style', '-'], { input: script, encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.stdout;
}

/** The shell in a cloud-config: scripts it writes (with a shebang) and string runcmd entries. */
function shellFragments(config: CloudConfig): [string, string][] {
  const scripts = config.write_files.filter((file) => file.content.startsWith('#!')).map((file): [string, string] => [file.path, file.content]);
  const commands = config.runcmd.filter((command): command is string => typeof command === 'string').map((command): [string, string] => ['runcmd', command]);
  return [...scripts, ...commands];
}

describe('shellcheck', () => {
  it('finds problems in a bad script (the check is live)', () => {
    expect(shellcheck('#!/usr/bin/env bash\nrm -rf $dir/*\n')).toMatch(/SC2086|SC2115/);
  });

  it.each(['dev', 'prod'])('passes the user data of the %s stack', async (stack) => {
    const fragments = shellFragments(userDataOf(await simulate(stack)));
    expect(fragments.map(([name]) => name)).toContain('/usr/local/sbin/clawdbot-provision');
    for (const [name, script] of fragments) expect({ name, findings: shellcheck(script) }).toEqual({ name, findings: '' });
  });

  it('passes user data rendered with unusual but valid values', () => {
    const userData = renderUserData({
      stack: 'team-a',
      region: 'cn-north-1',
      dnsSuffix: 'amazonaws.com.cn',
      sshPort: 65022,
      sshAllowedCidrs: ['2001:db8::/32'],
      publicCidrs: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'],
      deployUser: 'admin',
      backupBucket: 'b',
      backupPrefix: 'team-a/',
      backupRetentionDays: 1,
      backupSchedule: 'Mon..Fri *-*-* 01:00:00',
      restoreFrom: { bucket: 'old-bucket', prefix: 'team-a-old', region: 'cn-northwest-1' },
      appLogGroup: '/team-a/app',
      prometheusLogGroup: '/team-a/prometheus',
    });
    for (const [name, script] of shellFragments(parseCloudConfig(userData))) expect({ name, findings: shellcheck(script) }).toEqual({ name, findings: '' });
  });

  const workflows = path.join(__dirname, '../../.github/workflows');
  const runSteps = readdirSync(workflows).flatMap((file) => {
    const jobs = (parse(readFileSync(path.join(workflows, file), 'utf8')) as { jobs: Record<string, { steps?: { run?: string }[] }> }).jobs;
    return Object.entries(jobs).flatMap(([job, { steps = [] }]) =>
      steps.filter((step) => step.run).map((step, index) => [`${file} ${job} run #${index + 1}`, step.run!] as const),
    );
  });

  it.each(runSteps)('passes %s', (_, run) => {
    // GitHub substitutes ${{ }} before bash (`bash -e {0}`) sees the script.
    expect(shellcheck(run.replace(/\$\{\{[^}]*\}\}/g, 'expression'))).toBe('');
  });
});
