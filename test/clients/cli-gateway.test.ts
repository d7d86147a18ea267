// Both CLIs, run as `npm run chat` / `npm run modelctl` run them (the built JavaScript, after a
// pre-script that builds only when app/src changed), find a gateway next to `npm start` the
// same way: CLAWDBOT_URL, else http://127.0.0.1:$PORT, with the key or token from the data dir.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildApp, startGateway, type TestGateway } from '../helpers/gateway';

const REPO_ROOT = path.resolve(__dirname, '../..');
/** Without blocking this process, which serves the gateway the CLIs talk to. */
const run = promisify(execFile);

let gw: TestGateway;
beforeAll(async () => {
  buildApp();
  gw = await startGateway();
}, 120_000);
afterAll(() => gw.close());

/** What `PORT=<port> npm start` leaves a person with: only PORT and the data dir. */
const portOnly = () => ({ PATH: process.env.PATH, PORT: new URL(gw.url).port, CLAWDBOT_DATA_DIR: gw.dataDir });

describe('the CLIs find the local gateway', () => {
  it('npm run chat honours PORT', async () => {
    const chat = run(process.execPath, ['app/dist/cli/chat.js'], { cwd: REPO_ROOT, env: portOnly() });
    chat.child.stdin?.end('hello\n');
    expect(await chat).toEqual({ stdout: 'Hello! I am clawdbot. How can I help?\n', stderr: '' });
  });

  it('npm run modelctl honours PORT the same way', async () => {
    const { stdout } = await run(process.execPath, ['app/dist/cli/modelctl.js', 'status'], { cwd: REPO_ROOT, env: portOnly() });
    expect(stdout).toMatch(/^model: +rules\/rules$/m);
  });

  it('both name PORT when it is not a port', async () => {
    for (const cli of ['chat.js', 'modelctl.js']) {
      const failed = run(process.execPath, [`app/dist/cli/${cli}`, 'status'], { cwd: REPO_ROOT, env: { ...portOnly(), PORT: 'eighty' } });
      await expect(failed).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('PORT: "eighty" is not a port number (1-65535)') });
    }
  });

  it('the pre-script leaves a fresh build alone, so a CLI starts without tsc', async () => {
    const builtAt = statSync(path.join(REPO_ROOT, 'app/dist/.tsbuildinfo')).mtimeMs;
    await run(process.execPath, ['scripts/build-if-stale.js'], { cwd: REPO_ROOT });
    expect(statSync(path.join(REPO_ROOT, 'app/dist/.tsbuildinfo')).mtimeMs).toBe(builtAt);
  });
});
