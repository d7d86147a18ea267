import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from '../lib/deadline';

/** A platform call that failed; `retryable` for rate limits, 5xx and network trouble. */
export class PlatformError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

const ATTEMPTS = 4;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** One platform request, from sending it to the end of the answer. */
export const PLATFORM_REQUEST_TIMEOUT_MS = 15_000;

/** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s ... capped at 8 s. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Runs `operation`, retrying retryable PlatformErrors with backoff (or the platform's Retry-After). */
export async function withRetries<T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof PlatformError) || !error.retryable || attempt >= ATTEMPTS) throw error;
      await sleep(error.retryAfterMs ?? backoffMs(attempt), undefined, { signal });
    }
  }
}

/** Retry-After in seconds (the only form the platforms send), as ms. */
export function retryAfterMs(headers: Headers): number | undefined {
  const seconds = Number(headers.get('retry-after'));
  return headers.has('retry-after') && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * One HTTP exchange with a JSON body. Network failures, timeouts, 429 and 5xx become retryable
 * PlatformErrors; other statuses are returned for the caller to interpret.
 */
export async function requestJson(
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<JsonResponse> {
  const exchange = await withDeadline(PLATFORM_REQUEST_TIMEOUT_MS, init.signal, async (deadline) => {
    try {
      const response = await fetch(url, {
        method: init.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: deadline.signal,
      });
      return { response, text: await response.text().catch(() => '') };
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new PlatformError(`${new URL(url).pathname}: ${(error as Error).message}`, true);
    }
  });
  const { response, text } = exchange;
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (response.status === 429 || response.status >= 500) {
    throw new PlatformError(`${new URL(url).pathname}: HTTP ${response.status}`, true, retryAfterMs(response.headers));
  }
  return { status: response.status, headers: response.headers, body };
}

/** Reads a binary response of at most `maxBytes`; used to fetch pictures for vision models. */
export async function fetchBytes(url: string, maxBytes: number, signal?: AbortSignal): Promise<{ bytes: Buffer; contentType?: string }> {
  return withDeadline(PLATFORM_REQUEST_TIMEOUT_MS, signal, async (deadline) => {
    let response: Response;
    try {
      response = await fetch(url, { signal: deadline.signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new PlatformError(`picture download: ${(error as Error).message}`, true);
    }
    if (!response.ok) {
      throw new PlatformError(`picture download: HTTP ${response.status}`, response.status === 429 || response.status >= 500);
    }
    const declared = Number(response.headers.get('content-length'));
    if (declared > maxBytes) throw new PlatformError(`picture download: ${declared} bytes is over the ${maxBytes} limit`, false);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw new PlatformError(`picture download: over the ${maxBytes} byte limit`, false);
    return { bytes, contentType: response.headers.get('content-type') ?? undefined };
  });
}
