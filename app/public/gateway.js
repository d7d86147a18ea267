// The gateway client of both people's clients, the web page (app.js) and the terminal chat
// (app/src/tui/client.ts): POST api/chat streamed as SSE, GET v1/models, and what to tell the
// person when either fails. Its types are in app/src/tui/client.ts.
//
// Loaded two ways, so it neither imports nor exports: Node requires it as CommonJS, the page
// imports it as a module for its effect (globalThis.clawdbotGateway). Each side hands in
// eventsource-parser's createParser: the page loads it from /vendor, Node from node_modules.

/**
 * A call the gateway refused or could not finish: the HTTP status (undefined when the error
 * arrived mid-stream), the gateway's OpenAI-style error code and message, and Retry-After.
 */
class GatewayError extends Error {
  constructor(message, { status, code, retryAfterSeconds } = {}) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

async function errorFrom(response) {
  let detail = {};
  try {
    detail = (await response.json()).error ?? {};
  } catch {
    // Not the gateway's JSON error body (a proxy in between, say): the status still tells.
  }
  const retryAfter = response.headers.get('retry-after');
  const seconds = Number(retryAfter);
  return new GatewayError(detail.message ?? response.statusText, {
    status: response.status,
    code: detail.code ?? undefined,
    retryAfterSeconds: retryAfter !== null && Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined,
  });
}

class GatewayClient {
  #base;
  #apiKey;
  #channel;
  #createParser;

  constructor({ baseUrl, apiKey, channel, createParser }) {
    // Routes resolve under the URL's path, so a gateway behind a path prefix works too.
    const href = String(baseUrl);
    this.#base = new URL(href.endsWith('/') ? href : `${href}/`);
    this.#apiKey = apiKey;
    this.#channel = channel;
    this.#createParser = createParser;
  }

  #authorization() {
    return { authorization: `Bearer ${this.#apiKey}` };
  }

  /** The model answering now, as `{ name, provider }`. */
  async currentModel() {
    const response = await fetch(new URL('v1/models', this.#base), { headers: this.#authorization() });
    if (!response.ok) throw await errorFrom(response);
    const [model] = (await response.json()).data ?? [];
    return model ? { name: model.id, provider: model.owned_by } : undefined;
  }

  /** One message with stream:true; onDelta gets each piece of the reply as it arrives. */
  async chat({ message, sessionId, signal }, onDelta) {
    const response = await fetch(new URL('api/chat', this.#base), {
      method: 'POST',
      headers: { ...this.#authorization(), 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ sessionId, message, stream: true, channel: this.#channel }),
      signal,
    });
    if (!response.ok || !response.body) throw await errorFrom(response);

    let final;
    let failure;
    const parser = this.#createParser({
      onEvent(event) {
        if (event.data === '[DONE]') return;
        const payload = JSON.parse(event.data);
        if (payload.error) failure = new GatewayError(payload.error.message ?? 'error', { code: payload.error.code ?? undefined });
        else if (typeof payload.delta === 'string') onDelta(payload.delta);
        else if (typeof payload.sessionId === 'string') final = payload;
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(chunk.value);
    if (failure) throw failure;
    if (!final) throw new GatewayError('the reply stream ended before it was complete', { code: 'stream_incomplete' });
    return final;
  }
}

/** The model as people read it; the rules engine is provider and name at once: "rules". */
function modelLabel(model) {
  if (!model) return 'unknown';
  return model.provider && model.provider !== model.name ? `${model.name} (${model.provider})` : model.name;
}

/**
 * Who answered a reply, as people read it. With hybrid routing the rules engine keeps greetings,
 * help, the time and the FAQ even after a switch to a model: said so, lest the switch look failed.
 */
function replyLabel(replyModel, currentModel) {
  const hybrid = replyModel?.provider === 'rules' && currentModel !== undefined && currentModel.provider !== 'rules';
  return hybrid ? `rules (hybrid routing; ${modelLabel(currentModel)} answers the rest)` : modelLabel(replyModel);
}

/**
 * What to tell the person about an error GatewayClient threw. `names` are how this client
 * refers to the gateway and to its key (the page: "the API key"; the terminal: the variables
 * CLAWDBOT_URL and CLAWDBOT_API_KEY), so that the message says what to fix.
 */
function describeError(error, names) {
  if (!(error instanceof GatewayError)) {
    const reason = error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error);
    return `Cannot reach ${names.gateway} (${reason}). Check that it is running and can be reached from here.`;
  }
  if (error.status === 401) return `The gateway rejected ${names.key}. Use one of the gateway's API keys.`;
  if (error.status === 429) {
    const wait = error.retryAfterSeconds ?? 1;
    return `Too many requests: the gateway is rate limiting. Try again in ${wait} second${wait === 1 ? '' : 's'}.`;
  }
  if (error.status === 504 || error.code === 'model_timeout') return 'The model did not answer in time. Try again in a moment.';
  if (error.status === 502 || error.code === 'model_unavailable' || error.code === 'stream_incomplete') {
    return `The model is not available right now (${error.message}). Try again in a moment.`;
  }
  return `The gateway could not answer${error.status ? ` (${error.status})` : ''}: ${error.message}`;
}

const gateway = { GatewayClient, GatewayError, describeError, modelLabel, replyLabel };
// module.exports checked too: in a page, an element with id="module" is a global `module`.
if (typeof module === 'object' && module.exports) module.exports = gateway;
else globalThis.clawdbotGateway = gateway;
