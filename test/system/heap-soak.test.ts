/**
 * Memory kept by model calls (issue: a leaked AbortSignal per call took a gateway from 88 to
 * 608 MB in 8 minutes). 20,000 completions per provider, streamed and not, must leave at most
 * 0.5 KB each on the heap after forced full collections. Memory is asserted, not time.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startFakeAnthropic, startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';

const CALLS = 20_000;
const MAX_BYTES_PER_CALL = 512;
const SOAK = path.join(__dirname, 'helpers/heap-soak.ts');

/** Runs the soak in a child with --expose-gc; the fake answers from this process meanwhile. */
function soak(provider: string, fake: FakeLLM): Promise<{ calls: number; failed: number; bytesPerCall: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SOAK, provider, fake.url, String(CALLS)], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0) resolve(JSON.parse(last));
      else reject(new Error(`soak exited with ${code}:\n${stderr}`));
    });
  });
}

describe.each([
  ['openai', startFakeOpenAI],
  ['anthropic', startFakeAnthropic],
])('model calls through the %s provider', (provider, startFake) => {
  let fake: FakeLLM;
  beforeAll(async () => {
    fake = await startFake({ reply: 'it is sunny with a light breeze' });
  });
  afterAll(() => fake.close());

  it(`keep at most ${MAX_BYTES_PER_CALL} bytes of heap per call over ${CALLS} calls`, async () => {
    const result = await soak(provider, fake);
    process.stdout.write(`heap soak ${JSON.stringify(result)}\n`);
    expect(result).toMatchObject({ calls: CALLS, failed: 0 });
    expect(result.bytesPerCall).toBeLessThan(MAX_BYTES_PER_CALL);
  }, 600_000);
});
