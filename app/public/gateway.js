// Calls to the gateway this page is served from: POST api/chat (streamed as SSE) and
// GET v1/models. Paths are relative so the page also works behind a path prefix.
import { createParser } from './vendor/eventsource-parser.js';

/** A failed call: the HTTP status (or the code of an error sent mid-stream) and the gateway's message. */
export class GatewayError extends Error {
  constructor(status, code, message, retryAfterSeconds) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

function authHeaders(apiKey) {
  return { authorization: `Bearer ${apiKey}` };
}

function retryAfterSeconds(header) {
  const seconds = Number(header);
  return header !== null && Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : null;
}

async function errorFrom(response) {
  let detail = {};
  try {
    detail = (await response.json()).error ?? {};
  } catch {
    // Not the gateway's JSON error body (a proxy in between, say): the status still tells.
  }
  return new GatewayError(
    response.status,
    detail.code ?? null,
    detail.message ?? response.statusText,
    retryAfterSeconds(response.headers.get('retry-after')),
  );
}

/** The model currently answering, as `{ name, provider }`. */
export async function fetchModel(apiKey) {
  const response = await fetch('v1/models', { headers: authHeaders(apiKey) });
  if (!response.ok) throw await errorFrom(response);
  const [model] = (await response.json()).data ?? [];
  return model ? { name: model.id, provider: model.owned_by } : null;
}

/**
 * Sends one message with stream:true. Calls onDelta(text) for each piece of the reply as it
 * arrives and resolves with the final event `{ sessionId, reply, model }`.
 */
export async function streamChat({ apiKey, sessionId, message, signal, onDelta }) {
  const response = await fetch('api/chat', {
    method: 'POST',
    headers: { ...authHeaders(apiKey), 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ sessionId: sessionId ?? undefined, message, stream: true, channel: 'web' }),
    signal,
  });
  if (!response.ok) throw await errorFrom(response);

  let final = null;
  let failure = null;
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') return;
      const payload = JSON.parse(event.data);
      if (payload.error) failure = new GatewayError(null, payload.error.code ?? null, payload.error.message ?? 'error', null);
      else if (typeof payload.delta === 'string') onDelta(payload.delta);
      else if (typeof payload.sessionId === 'string') final = payload;
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  if (failure) throw failure;
  if (!final) throw new GatewayError(null, 'stream_incomplete', 'the reply stream ended before it was complete', null);
  return final;
}

/** What to tell the person, for any error streamChat or fetchModel can throw. */
export function describeError(error) {
  if (!(error instanceof GatewayError)) {
    return 'Cannot reach the gateway. Check that it is running and that this page can reach it.';
  }
  if (error.status === 401) return 'The gateway rejected the API key. Enter a valid key.';
  if (error.status === 429) {
    const wait = error.retryAfterSeconds ?? 1;
    return `Too many requests: the gateway is rate limiting. Try again in ${wait} second${wait === 1 ? '' : 's'}.`;
  }
  if (error.status === 504 || error.code === 'model_timeout') {
    return 'The model did not answer in time. Try again in a moment.';
  }
  if (error.status === 502 || error.code === 'model_unavailable' || error.code === 'stream_incomplete') {
    return `The model is not available right now (${error.message}). Try again in a moment.`;
  }
  return `The gateway could not answer${error.status ? ` (${error.status})` : ''}: ${error.message}`;
}
