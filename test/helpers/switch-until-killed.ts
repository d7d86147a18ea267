/**
 * A child process for crash tests (run with tsx): starts an in-process gateway on
 * CLAWDBOT_DATA_DIR, switches to the model in OLD_SWITCH, then to the one in NEW_SWITCH, and
 * SIGKILLs itself right after the KILL_AFTER_STEP-th change to a file of the data dir during the
 * second switch (a write, a rename or a removal). It prints `{"steps":n}` when the switch
 * finished before that step. The wrapping is this test's own: the gateway has no such hook.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startGateway } from './gateway';

const { CLAWDBOT_DATA_DIR: dataDir = '', OLD_SWITCH = '', NEW_SWITCH = '', KILL_AFTER_STEP = '0', ...env } = process.env;
const killAfter = Number(KILL_AFTER_STEP);
let counting = false;
let steps = 0;

for (const name of ['writeFileSync', 'renameSync', 'rmSync', 'unlinkSync', 'copyFileSync'] as const) {
  const original = fs[name] as (...args: unknown[]) => unknown;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    const result = original.apply(fs, args);
    const inDataDir = typeof args[0] === 'string' && path.resolve(args[0]).startsWith(`${path.resolve(dataDir)}${path.sep}`);
    if (counting && inDataDir && ++steps === killAfter) process.kill(process.pid, 'SIGKILL');
    return result;
  };
}

async function main(): Promise<void> {
  const gw = await startGateway({ ...(env as Record<string, string>), CLAWDBOT_DATA_DIR: dataDir });
  const put = async (body: string) => {
    const response = await fetch(`${gw.url}/admin/model`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body,
    });
    if (response.status !== 200) throw new Error(`switch answered ${response.status}: ${await response.text()}`);
  };
  await put(OLD_SWITCH);
  counting = true;
  await put(NEW_SWITCH);
  counting = false;
  await gw.close();
  process.stdout.write(`${JSON.stringify({ steps })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
