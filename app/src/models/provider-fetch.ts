import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';

/**
 * One pool of keep-alive connections per provider origin. undici's own timeouts are off: a
 * call's Deadline (sdk.ts) is its only clock, and a stream may stay silent longer than
 * undici's 300 s defaults when MODEL_TIMEOUT_SECONDS says so.
 */
const providers = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/** A response's header fields, read the way both SDKs read them (get, has, entries). */
class ResponseHeaders {
  constructor(private readonly fields: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.fields[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.fields[name.toLowerCase()] !== undefined;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.fields)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }
}

/** What both SDKs read of a fetch Response: the status, the headers and the body (streamed, as text or as JSON). */
class ProviderResponse {
  readonly ok: boolean;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: ResponseHeaders,
    // A Node Readable (undici's BodyReadable): it iterates as the SDKs and completionChunks read it.
    readonly body: Dispatcher.ResponseData['body'],
  ) {
    this.ok = status >= 200 && status < 300;
  }

  text(): Promise<string> {
    return this.body.text();
  }

  json(): Promise<unknown> {
    return this.body.json();
  }
}

/**
 * The fetch both SDKs call the provider with (their `fetch` option): undici's request API
 * behind the part of the Fetch API the SDKs use. Node's built-in fetch wraps every body in
 * web streams, and node-fetch (used before) copies the request into its own Request and
 * Headers and pipes the response through a PassThrough: a two-token streamed answer through
 * the gateway allocated 186 KB with node-fetch and 137 KB with this, and the bench's streams
 * took about a tenth less gateway CPU per token (bench/RESULTS.md, 2026-12-07 sixth session).
 * Redirects are not followed: an endpoint that answers 3xx fails the call with that status.
 */
async function fetchFromProvider(url: string, init: RequestInit): Promise<ProviderResponse> {
  const { statusCode, headers, body } = await request(url, {
    dispatcher: providers,
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    // The SDKs pass a Headers object; undici reads any iterable of name-value pairs.
    headers: init.headers as Iterable<[string, string]> | undefined,
    body: init.body as Dispatcher.DispatchOptions['body'],
    signal: init.signal ?? undefined,
  });
  return new ProviderResponse(url, statusCode, new ResponseHeaders(headers), body);
}

/** Typed as the fetch the SDKs take; both call it with the URL as a string and an init object. */
export const providerFetch = fetchFromProvider as unknown as typeof fetch;
