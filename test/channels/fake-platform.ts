import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake platform received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, else the raw text. */
  body: any;
}

export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON, unless a Buffer. */
  body?: unknown;
}

type Handler = (request: RecordedRequest) => FakeResponse | Promise<FakeResponse>;

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

/**
 * The common part of the fake DingTalk and Feishu servers: a real HTTP server on 127.0.0.1 that
 * records every request, answers from its routes, and can be told to fail the next calls.
 */
export class FakePlatform {
  readonly requests: RecordedRequest[] = [];
  readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly routes: Array<{ method: string; path: RegExp; handler: Handler }> = [];
  private readonly failures: Array<{ path: RegExp; response: FakeResponse; times: number }> = [];
  private readonly holds: Array<{ path: RegExp; released: Promise<void> }> = [];
  private readonly waiters: Waiter[] = [];
  url = '';

  route(method: string, path: RegExp, handler: Handler): this {
    this.routes.push({ method, path, handler });
    return this;
  }

  /** The next `times` requests to `path` get `response` instead of the normal answer. */
  failNext(path: RegExp, response: FakeResponse, times = 1): void {
    this.failures.push({ path, response, times });
  }

  /** Requests to `path` get no answer until the returned function is called (waitFor sees them at once). */
  hold(path: RegExp): () => void {
    let release!: () => void;
    const hold = { path, released: new Promise<void>((resolve) => (release = resolve)) };
    this.holds.push(hold);
    return () => {
      this.holds.splice(this.holds.indexOf(hold), 1);
      release();
    };
  }

  received(path: RegExp): RecordedRequest[] {
    return this.requests.filter((request) => path.test(request.path));
  }

  /** Resolves once `ready()` holds, checked after each answered request (the test's timeout bounds it). */
  waitUntil(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  /** Resolves with the requests to `path` once there are `count` of them. */
  async waitFor(path: RegExp, count = 1): Promise<RecordedRequest[]> {
    await this.waitUntil(() => this.received(path).length >= count);
    return this.received(path);
  }

  /** Listens on a free port of `host`: another address than loopback for gateways in other network namespaces. */
  async start(host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    this.requests.push(request);
    const holds = this.holds.filter((h) => h.path.test(request.path));
    if (holds.length > 0) {
      this.notify(); // a held request counts as received for the waiters: its answer is up to the test
      await Promise.all(holds.map((hold) => hold.released));
    }

    let response: FakeResponse;
    const failure = this.failures.find((f) => f.times > 0 && f.path.test(request.path));
    if (failure) {
      failure.times -= 1;
      response = failure.response;
    } else {
      const route = this.routes.find((r) => r.method === request.method && r.path.test(request.path));
      response = route ? await route.handler(request) : { status: 404, body: { message: `no fake route for ${request.method} ${request.path}` } };
    }
    const payload = Buffer.isBuffer(response.body) ? response.body : Buffer.from(JSON.stringify(response.body ?? {}));
    res.writeHead(response.status ?? 200, {
      'content-type': Buffer.isBuffer(response.body) ? 'application/octet-stream' : 'application/json',
      ...response.headers,
    });
    res.end(payload);

    this.notify();
  }

  /** Re-checks the waiters; subclasses call it when something other than a request happened. */
  protected notify(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.ready()) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

/** A 1x1 PNG, for picture downloads. */
export const PNG_PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
