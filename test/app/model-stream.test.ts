import { readStream } from '../../app/src/models/sdk';

/** A provider stream of text chunks, and the signal readStream gave its call. */
function provider(chunks: string[]) {
  const call: { signal?: AbortSignal } = {};
  const stream = readStream(
    60_000,
    undefined,
    async (signal) => {
      call.signal = signal;
      return (async function* () {
        yield* chunks;
      })();
    },
    (chunk: string) => ({ text: chunk }),
    (error) => error,
  );
  return { stream, call };
}

describe('readStream', () => {
  it('leaves a call that was read to its end alone', async () => {
    const { stream, call } = provider(['one ', 'two']);
    const texts: string[] = [];
    for await (const text of stream) texts.push(text);
    expect(texts).toEqual(['one ', 'two']);
    expect(call.signal?.aborted).toBe(false);
  });

  it('aborts the call when its reader stops early, with no caller signal to say so', async () => {
    const { stream, call } = provider(['one ', 'two ', 'three']);
    expect(await stream.next()).toEqual({ value: 'one ', done: false });
    await stream.return(undefined as never);
    expect(call.signal?.aborted).toBe(true);
  });
});
