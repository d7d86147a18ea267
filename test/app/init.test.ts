import { spawn } from 'node:child_process';
import path from 'node:path';

const INIT = path.resolve(__dirname, '../../app/bin/clawdbot-init');

/** Runs the image's init with a Node child; resolves with the init's exit code and output. */
function runInit(childScript: string, signalAfterReady?: NodeJS.Signals): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const init = spawn(INIT, [process.execPath, '-e', childScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    init.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      if (signalAfterReady && output.includes('ready')) init.kill(signalAfterReady);
    });
    init.stderr.on('data', (data: Buffer) => (output += data.toString()));
    init.once('exit', (code) => resolve({ code, output }));
  });
}

describe('clawdbot-init (PID 1 of the image)', () => {
  it("exits with the command's status", async () => {
    expect((await runInit('process.exit(7)')).code).toBe(7);
    expect((await runInit('')).code).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('passes %s on and waits for the command to finish', async (signal) => {
    const child = `
      process.on('${signal}', () => setTimeout(() => { console.log('got ${signal}'); process.exit(3); }, 200));
      console.log('ready');
      setInterval(() => {}, 1000);
    `;
    const { code, output } = await runInit(child, signal);
    expect(output).toContain(`got ${signal}`);
    expect(code).toBe(3);
  });

  // An orphan is a process whose parent died; the kernel hands it to PID 1, which must reap it
  // when it exits or it stays a zombie. Here the orphan is made differently, without root or a
  // PID namespace: a shell starts `sleep` in the background and then execs into the init, so
  // the init inherits a child it never started, exactly as PID 1 inherits an orphan.
  const ORPHAN_CHECK = `
    const fs = require('node:fs');
    const state = () => { try { return fs.readFileSync('/proc/' + process.env.ORPHAN + '/stat', 'utf8').split(') ')[1][0]; } catch { return 'gone'; } };
    const poll = setInterval(() => {
      if (state() !== 'Z' && state() !== 'gone') return;
      clearInterval(poll);
      // It has exited; whoever is its parent had time to collect it.
      setTimeout(() => console.log(state() === 'gone' ? 'reaped' : 'zombie'), 500);
    }, 20);
  `;
  const withOrphan = (command: string[]) =>
    new Promise<string>((resolve) => {
      const shell = spawn('sh', ['-c', 'sleep 0.2 & ORPHAN=$! exec "$@"', 'sh', ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      shell.stdout.on('data', (data: Buffer) => (output += data.toString()));
      shell.once('exit', () => resolve(output.trim()));
    });

  it('reaps orphaned processes it inherits, which a plain node process leaves as zombies', async () => {
    expect(await withOrphan([INIT, process.execPath, '-e', ORPHAN_CHECK])).toBe('reaped');
    expect(await withOrphan([process.execPath, '-e', ORPHAN_CHECK])).toBe('zombie');
  });
});
