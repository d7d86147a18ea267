import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { describeError } from './errors';

const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

export interface EventFormat {
  /** The event carrying one text delta. */
  delta(text: string, index: number): unknown;
  /** The events after the last delta, given the whole text. */
  end(text: string): unknown[];
}

/**
 * Answers with `text/event-stream`. It waits for the first delta before sending headers, so a
 * failure before any text (bad input, model down) is an ordinary JSON error response. A
 * failure later is sent as `data: {"error":…}`; every stream ends with `data: [DONE]`.
 */
export async function sendEventStream(reply: FastifyReply, deltas: AsyncIterable<string>, format: EventFormat): Promise<FastifyReply> {
  const iterator = deltas[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* events(): AsyncGenerator<string> {
    let text = '';
    let index = 0;
    try {
      for (let step = first; !step.done; step = await iterator.next()) {
        text += step.value;
        yield event(format.delta(step.value, index++));
      }
      for (const last of format.end(text)) yield event(last);
    } catch (error) {
      const { body, unexpected } = describeError(error);
      if (unexpected) reply.log.error({ err: error }, 'stream failed');
      yield event(body);
    } finally {
      await iterator.return?.();
    }
    yield 'data: [DONE]\n\n';
  }
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(Readable.from(events(), { objectMode: false }));
}

/**
 * Aborts `signal` when the client goes away before the response is complete (it stops the
 * model call). The AbortController is made when `signal` is first read: rules and cached
 * answers never read it, and one per request cost about 4% of the chat path.
 */
export class ClientDisconnect {
  private controller?: AbortController;
  private left = false;

  constructor(reply: FastifyReply) {
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      this.left = true;
      this.controller?.abort();
    });
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.left) this.controller.abort();
    }
    return this.controller.signal;
  }
}
