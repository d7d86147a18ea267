import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway } from '../helpers/gateway';

const CHILD = path.join(__dirname, '../helpers/switch-until-killed.ts');
const REPO_ROOT = path.resolve(__dirname, '../..');
const OLD = { name: 'fake-old', apiKey: 'sk-old-0123456789abcdef' };
const NEW = { name: 'fake-new', apiKey: 'sk-new-0123456789abcdef' };

/** Runs the child until it finishes or kills itself after `step` file changes of the second switch. */
function switchUntilKilled(env: Record<string, string>, step: number): Promise<{ signal: NodeJS.Signals | null; code: number | null; output: string }> {
  return new Promise((resolve) => {
    // tsx as a loader, not its CLI: the CLI would report the child's SIGKILL as exit code 137.
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env, KILL_AFTER_STEP: String(step) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

/** Every file under dir, relative, with its mode. */
function filesUnder(dir: string): Array<{ file: string; mode: number }> {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { file: path.relative(dir, file), mode: fs.statSync(file).mode & 0o777 };
    });
}

describe('a model switch killed at any step', () => {
  let fake: FakeLLM;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());

  it('leaves the old model with its key or the new one with its key, and no temporary file', async () => {
    const configured = { MODEL_PROVIDER: 'openai', MODEL_NAME: 'fake-configured', MODEL_API_KEY: 'sk-configured-0123456789', MODEL_ENDPOINT: fake.url, ROUTING: 'llm', CACHE_TTL_SECONDS: '0' };
    const switchTo = (model: typeof OLD) => JSON.stringify({ ...model, endpoint: fake.url });
    const outcomes: string[] = [];
    for (let step = 1; ; step++) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-switch-crash-'));
      try {
        const run = await switchUntilKilled({ ...configured, CLAWDBOT_DATA_DIR: dataDir, OLD_SWITCH: switchTo(OLD), NEW_SWITCH: switchTo(NEW) }, step);
        if (run.signal !== 'SIGKILL' && run.code !== 0) throw new Error(`the child failed: ${run.output}`);

        const gw = await startGateway({ ...configured, CLAWDBOT_DATA_DIR: dataDir });
        try {
          const response = await fetch(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.apiKey}` },
            body: JSON.stringify({ messages: [{ role: 'user', content: 'which model and key?' }] }),
          });
          expect(response.status).toBe(200);
          const call = fake.completions().at(-1)!;
          const pair = `${call.body.model} with ${call.headers.authorization}`;
          expect([`${OLD.name} with Bearer ${OLD.apiKey}`, `${NEW.name} with Bearer ${NEW.apiKey}`]).toContain(pair);
          outcomes.push(run.signal ? `killed after step ${step}: ${pair}` : `finished: ${pair}`);

          const files = filesUnder(dataDir);
          expect(files.filter(({ file }) => file.endsWith('.tmp'))).toEqual([]);
          for (const { file, mode } of files) {
            if (fs.readFileSync(path.join(dataDir, file), 'utf8').includes(NEW.apiKey)) expect({ file, mode }).toEqual({ file, mode: 0o600 });
          }
        } finally {
          await gw.close();
        }
        if (run.signal === null) {
          expect(JSON.parse(run.output)).toEqual({ steps: step - 1 });
          break;
        }
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
    // At least one kill lands mid-switch, and the finished switch serves the new pair.
    expect(outcomes.length).toBeGreaterThan(1);
    expect(outcomes.at(-1)).toBe(`finished: ${NEW.name} with Bearer ${NEW.apiKey}`);
  }, 120_000);
});
