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
});
