import { readStream } from '../../app/src/models/sdk';
import { tap, type AnswerEnding, type ModelStream, type StreamEnd } from '../../app/src/models/types';

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

describe('tap', () => {
  const ending: AnswerEnding = { finishReason: 'length' };
  /** A model stream of `deltas` that fails with `error` after them when given one; `state` says how far it got. */
  function source(deltas: string[], error?: Error) {
    const state = { finished: false, stopped: false };
    const stream = (async function* (): ModelStream {
      try {
        yield* deltas;
        if (error) throw error;
        return ending;
      } finally {
        state.finished = true;
      }
    })();
    const stop = stream.return.bind(stream);
    stream.return = (value) => {
      state.stopped = true;
      return stop(value);
    };
    return { stream, state };
  }
  function tapped(stream: ModelStream) {
    const seen: string[] = [];
    const ends: StreamEnd[] = [];
    return { seen, ends, stream: tap(stream, (delta) => seen.push(delta), (how) => ends.push(how)) };
  }

  it('passes every delta on, shows each, and returns the ending, told once', async () => {
    const { stream, seen, ends } = tapped(source(['one ', 'two']).stream);
    const passed: string[] = [];
    for (let step = await stream.next(); ; step = await stream.next()) {
      if (step.done) {
        expect(step.value).toEqual(ending);
        break;
      }
      passed.push(step.value);
    }
    expect(passed).toEqual(['one ', 'two']);
    expect(seen).toEqual(['one ', 'two']);
    expect(ends).toEqual([{ kind: 'ok', ending }]);
  });

  it('is delegated to by yield*, which gets the ending', async () => {
    const { stream } = tapped(source(['one']).stream);
    const outer = (async function* () {
      return yield* stream;
    })();
    expect(await outer.next()).toEqual({ value: 'one', done: false });
    expect(await outer.next()).toEqual({ value: ending, done: true });
  });

  it('tells a failure and passes the error on', async () => {
    const failure = new Error('provider went away');
    const { stream, ends } = tapped(source(['one'], failure).stream);
    await stream.next();
    await expect(stream.next()).rejects.toBe(failure);
    expect(ends).toEqual([{ kind: 'failed', error: failure }]);
  });

  it('stops the source when its consumer stops early, and tells that it was abandoned', async () => {
    const { stream: model, state } = source(['one ', 'two']);
    const { stream, ends } = tapped(model);
    for await (const delta of stream) {
      expect(delta).toBe('one ');
      break;
    }
    expect(state).toEqual({ finished: true, stopped: true });
    expect(ends).toEqual([{ kind: 'abandoned' }]);
  });

  it('tells nothing of a stream that was never read', async () => {
    const { stream, ends } = tapped(source(['one']).stream);
    await stream.return(ending);
    expect(ends).toEqual([]);
  });
});
