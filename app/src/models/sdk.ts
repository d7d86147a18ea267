import { ModelError, type ModelDescriptor } from './types';

/** Retries of a failed call (429, 5xx, timeouts, connection errors), with the SDKs' backoff. */
export const MODEL_MAX_RETRIES = 2;

/** The error classes both official SDKs (openai, @anthropic-ai/sdk) export. */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number };
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

/** The stream went quiet for longer than the timeout. */
class IdleTimeout extends Error {}

/**
 * Turns an SDK failure into a ModelError (502/504) that clients see as a clean error body.
 * An abort by our own caller (the client went away) passes through unchanged. The key is
 * scrubbed from the message in case a provider echoes it.
 */
export function toModelError(error: unknown, sdk: SdkErrors, model: ModelDescriptor, apiKey: string): unknown {
  if (error instanceof ModelError) return error;
  const who = `${model.provider} model ${model.name}`;
  const scrub = (text: string) => (apiKey ? text.split(apiKey).join('[redacted]') : text);
  if (error instanceof sdk.APIConnectionTimeoutError || error instanceof IdleTimeout) {
    return new ModelError(`${who} timed out`, 504, 'model_timeout');
  }
  if (error instanceof sdk.APIUserAbortError) return error;
  if (error instanceof sdk.APIError) {
    const status = error.status ? ` (HTTP ${error.status})` : '';
    return new ModelError(`${who} failed${status}: ${scrub(error.message)}`, 502, 'model_unavailable');
  }
  return new ModelError(`${who} failed: ${scrub(String((error as Error)?.message ?? error))}`, 502, 'model_unavailable');
}

/**
 * Reads an SDK stream, failing with a timeout when no chunk arrives for `idleMs` (the SDK's
 * own timeout ends once the response headers are in). Yields the text each chunk carries.
 */
export async function* readStream<Chunk>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<Chunk>>,
  textOf: (chunk: Chunk) => string | undefined,
  options: { idleMs: number; signal?: AbortSignal; onError: (error: unknown) => unknown },
): AsyncIterable<string> {
  const idle = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  let timer: NodeJS.Timeout | undefined;
  try {
    const stream = await open(signal);
    timer = setTimeout(() => idle.abort(new IdleTimeout()), options.idleMs);
    for await (const chunk of stream) {
      timer.refresh();
      const text = textOf(chunk);
      if (text) yield text;
    }
  } catch (error) {
    throw options.onError(idle.signal.aborted ? idle.signal.reason : error);
  } finally {
    clearTimeout(timer);
  }
}
