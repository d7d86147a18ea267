import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { describeError } from './errors';

const eventOf = (json: string) => `data: ${json}\n\n`;
const event = (data: unknown) => eventOf(JSON.stringify(data));

export interface EventFormat {
  /** The JSON of the event carrying one text delta (made per token, so a format can reuse its fixed parts). */
  delta(text: string, index: number): string;
  /** The events after the last delta, given the whole text. */
  end(text: string): unknown[];
}

/**
 * Answers with `text/event-stream`. It waits for the first delta before sending headers, so a
 * failure before any text (bad input, model down) is an ordinary JSON error response. A
 * failure later is sent as `data: {"error":…}`; every stream ends with `data: [DONE]`.
 *
 * The events are written to the socket as they come (the reply is hijacked after the first
 * delta) rather than sent as a Readable over an async generator: that took two async layers and
 * a stream pipe per event. The headers Fastify collected (x-request-id) are sent along; the
 * request's outcome (access log, metrics) is recorded on the response's `close` as for any reply.
 */
export async function sendEventStream(reply: FastifyReply, deltas: AsyncIterable<string>, format: EventFormat): Promise<FastifyReply> {
  const iterator = deltas[Symbol.asyncIterator]();
  let step = await iterator.next();
  reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .hijack();
  const response = reply.raw;
  // Fastify's header values are typed as possibly undefined; the ones set are strings.
  response.writeHead(200, reply.getHeaders() as OutgoingHttpHeaders);
  let text = '';
  let index = 0;
  try {
    // A client that left ends the loop; return() below stops the source.
    for (; !step.done && !response.destroyed; step = await iterator.next()) {
      text += step.value;
      // A client that reads slower than the model writes: wait for it, or for it to leave.
      if (!response.write(eventOf(format.delta(step.value, index++))) && !response.destroyed) await writable(response);
    }
    if (step.done) for (const last of format.end(text)) response.write(event(last));
  } catch (error) {
    const { body, unexpected } = describeError(error);
    if (unexpected) reply.log.error({ err: error }, 'stream failed');
    if (!response.destroyed) response.write(event(body));
  } finally {
    // The reply is hijacked: an error thrown from here would leave the response open.
    await iterator.return?.().catch((error: unknown) => reply.log.error({ err: error }, 'stream failed'));
  }
  if (!response.destroyed) response.end('data: [DONE]\n\n');
  return reply;
}

/** Resolves once the response's buffer drained, or the client left. */
function writable(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
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
