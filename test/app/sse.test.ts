/**
 * sendEventStream with a client that reads slower than the answer comes: the source is asked
 * for no delta while the response's buffer is full, and a client that leaves meanwhile stops
 * the source. And a failure while the stream stops still ends the response.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendEventStream } from '../../app/src/http/sse';

const DELTAS = 64;
const DELTA = 'x'.repeat(1 << 18);

interface Source {
  /** The server's response, once the route runs. */
  response?: http.ServerResponse;
  /** Deltas asked for while the response's buffer was full. */
  askedWhileFull: number;
  stopped: boolean;
}

async function startServer(source: Source): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  app.post('/stream', async (_request, reply) => {
    source.response = reply.raw;
    async function* deltas() {
      try {
        for (let i = 0; i < DELTAS; i++) {
          if (reply.raw.writableNeedDrain) source.askedWhileFull++;
          yield DELTA;
        }
      } finally {
        source.stopped = true;
      }
    }
    return sendEventStream(reply, deltas(), { delta: (text) => JSON.stringify({ text }), end: () => [] });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/stream` };
}

/** A client that reads nothing until told to: its response, paused. */
function pausedClient(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST' }, (response) => {
      response.pause();
      resolve(response);
    });
    request.on('error', reject);
    request.end();
  });
}

const waitFor = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};

/** The response's buffer is full (or, had it not waited, everything was written already). */
const backedUp = (source: Source) => () => source.response?.writableNeedDrain === true || source.response?.writableEnded === true;

describe('sendEventStream and a slow client', () => {
  let app: FastifyInstance;
  let url: string;
  let source: Source;
  beforeEach(async () => {
    source = { askedWhileFull: 0, stopped: false };
    ({ app, url } = await startServer(source));
  });
  afterEach(() => app.close());

  it('asks for no delta while the response waits for the client, and sends all of them', async () => {
    const response = await pausedClient(url);
    await waitFor(backedUp(source));
    response.setEncoding('utf8');
    let received = '';
    response.on('data', (text: string) => {
      received += text;
    });
    response.resume();
    await new Promise((resolve) => response.on('end', resolve));
    expect(source.askedWhileFull).toBe(0);
    expect(received.split(DELTA).length - 1).toBe(DELTAS);
    expect(received.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('stops the source when the client leaves while the response waits for it', async () => {
    const response = await pausedClient(url);
    await waitFor(backedUp(source));
    response.destroy();
    await waitFor(() => source.stopped);
    expect(source.askedWhileFull).toBe(0);
  });
});

describe('sendEventStream and a failure mid-stream', () => {
  let app: FastifyInstance;
  afterEach(() => app.close());

  it('ends the response with an error event and [DONE] even when stopping the source fails too', async () => {
    app = Fastify();
    app.post('/stream', async (_request, reply) => {
      async function* deltas() {
        try {
          yield 'one';
          yield 'two';
        } finally {
          throw new Error('the source failed to stop');
        }
      }
      const format = {
        delta: (text: string, index: number) => {
          if (index > 0) throw new Error('cannot format the second delta');
          return JSON.stringify({ text });
        },
        end: () => [],
      };
      return sendEventStream(reply, deltas(), format);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/stream`, { method: 'POST' });
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events).toEqual(['data: {"text":"one"}', expect.stringMatching(/^data: \{"error":/), 'data: [DONE]']);
  });
});
