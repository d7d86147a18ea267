import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGateway, type SpawnedGateway } from '../helpers/gateway';

// How the public server treats connections: a refused large body is still answered readably, and
// neither an idle connection nor a body trickled in byte by byte is kept open for ever. The
// gateway runs as its own process: in the test's process, the server and the client would take
// turns on one event loop and the reset a client sees (EPIPE) would not happen.

const FIVE_MB = 5 * 1024 * 1024;

/** A raw TCP client: what it received, and how the connection ended (a reset is `error`). */
function connect(url: string) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let received = '';
  socket.on('data', (data) => (received += data.toString('latin1')));
  const ended = new Promise<{ error?: string; received: string }>((resolve) => {
    let error: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ error, received }));
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, ended, connected, received: () => received };
}

/** Writes `data`, waiting for the socket to take it, until the server closes or everything is sent. */
async function writeAll(socket: net.Socket, data: Buffer, chunkSize = 64 * 1024): Promise<number> {
  let written = 0;
  while (written < data.length && socket.writable) {
    const chunk = data.subarray(written, written + chunkSize);
    written += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
  }
  return written;
}

let gw: SpawnedGateway;

beforeAll(async () => {
  gw = await spawnGateway({ REQUEST_TIMEOUT_SECONDS: '2' });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
});

describe('a body over the 1 MB limit', () => {
  const body = Buffer.alloc(FIVE_MB, 'a');

  it("is answered 413 that Node's fetch reads, every time, not EPIPE or a reset", async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.apiKey}` },
        body,
      });
      expect(response.status).toBe(413);
      expect((await response.json()).error.code).toBe('request_too_large');
    }
  });

  it('is read and discarded, so a raw client sends it all, reads the 413, and sees no reset', async () => {
    const client = connect(gw.url);
    await client.connected;
    client.socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.apiKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${FIVE_MB}\r\n\r\n`,
    );
    expect(await writeAll(client.socket, body)).toBe(FIVE_MB);
    await new Promise<void>((resolve) => {
      const check = () => (client.received().includes('request_too_large') ? resolve() : client.socket.once('data', check));
      check();
    });
    client.socket.end();
    const { error, received } = await client.ended;
    expect(error).toBeUndefined();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
  });
});

describe('connections a slow or silent client holds', () => {
  it('closes a keep-alive connection left idle after its answer', async () => {
    const client = connect(gw.url);
    client.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const { received } = await client.ended;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toMatch(/connection: close/i); // it was kept alive, then closed for idling
  }, 20_000);

  it('closes a connection that never sends a request', async () => {
    const client = connect(gw.url);
    const { error } = await client.ended;
    expect(error).toBeUndefined();
  }, 20_000);

  it('answers 408 and closes a body trickled in a byte at a time, however steadily', async () => {
    const client = connect(gw.url);
    client.socket.write(
      `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.apiKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n',
    );
    const dripping = (async () => {
      // Each byte resets any inactivity timer; only a limit on the whole request ends this.
      for (let i = 0; i < 100 && client.socket.writable; i++) {
        client.socket.write('a');
        await sleep(500);
      }
    })();
    const { received } = await client.ended;
    await dripping;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  }, 20_000);
});
