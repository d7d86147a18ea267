/**
 * Run as `node --expose-gc --import tsx heap-soak.ts <provider> <endpoint> <calls>`: an in-process
 * gateway whose model is the fake provider at <endpoint> (served by the parent process, so its
 * recorded requests do not count here). It sends <calls> OpenAI-style completions, streamed and
 * not in turn, and prints one JSON line: the heap kept per call after forced full collections.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { startGateway } from '../../helpers/gateway';

const [provider, endpoint, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const CONCURRENCY = 16;
const WARM_UP_CALLS = 2_000;

async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Several rounds: finalizers and weak references free more on the next collection.
  for (let round = 0; round < 6; round++) {
    gc();
    await tick();
  }
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const gateway = await startGateway({
    MODEL_PROVIDER: provider,
    MODEL_ENDPOINT: endpoint,
    MODEL_API_KEY: 'soak-provider-key',
    MODEL_NAME: 'soak-model',
    ROUTING: 'llm',
    CACHE_TTL_SECONDS: '0',
    RATE_LIMIT_QPS: '1000000',
  });
  let next = 0;
  let failed = 0;
  const send = async (count: number) => {
    const end = next + count;
    const worker = async () => {
      while (next < end) {
        const stream = next++ % 2 === 1;
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gateway.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'soak-model', stream, messages: [{ role: 'user', content: 'tell me about the weather' }] }),
        });
        await response.text();
        if (response.status !== 200) failed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
  await send(WARM_UP_CALLS);
  const before = await settledHeap();
  await send(calls);
  await gateway.deps.logs.flush();
  const after = await settledHeap();
  await gateway.close();
  process.stdout.write(`${JSON.stringify({ provider, calls, failed, bytesPerCall: (after - before) / calls })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
