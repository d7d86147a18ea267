import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ROUTES } from '../contract';

/** The model as the gateway reports it. */
export interface ModelInfo {
  name: string;
  provider?: string;
}

/** The last event of a streamed /api/chat reply. */
export interface ChatReply {
  sessionId: string;
  reply: string;
  model: { provider: string; name: string };
}

/**
 * A call the gateway refused or could not finish: the HTTP status (undefined when the error
 * arrived mid-stream) and the gateway's OpenAI-style error code and message.
 */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

interface ErrorBody {
  error?: { message?: string; code?: string | null };
}

async function errorFrom(response: Response): Promise<GatewayError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not the gateway's JSON (a proxy in between, say): the status still tells.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new GatewayError(
    body.error?.message ?? response.statusText,
    response.status,
    body.error?.code ?? undefined,
    response.headers.has('retry-after') && Number.isFinite(retryAfter) ? Math.ceil(retryAfter) : undefined,
  );
}

/** The gateway's /api/chat and /v1/models, as the terminal UI uses them. */
export class GatewayClient {
  private readonly base: URL;

  constructor(
    baseUrl: URL,
    private readonly apiKey: string,
  ) {
    // Resolve routes under the URL's path, so http://host/prefix works behind a proxy too.
    this.base = new URL(baseUrl.href.endsWith('/') ? baseUrl.href : `${baseUrl.href}/`);
  }

  private url(route: string): URL {
    return new URL(route.replace(/^\//, ''), this.base);
  }

  private get authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  async currentModel(): Promise<ModelInfo | undefined> {
    const response = await fetch(this.url(ROUTES.models), { headers: this.authorization });
    if (!response.ok) throw await errorFrom(response);
    const body = (await response.json()) as { data?: Array<{ id: string; owned_by?: string }> };
    const model = body.data?.[0];
    return model && { name: model.id, provider: model.owned_by };
  }

  /** One message with stream:true; onDelta gets each piece of the reply as it arrives. */
  async chat(
    request: { message: string; sessionId?: string; signal?: AbortSignal },
    onDelta: (text: string) => void,
  ): Promise<ChatReply> {
    const response = await fetch(this.url(ROUTES.chat), {
      method: 'POST',
      headers: { ...this.authorization, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ sessionId: request.sessionId, message: request.message, stream: true, channel: 'tui' }),
      signal: request.signal,
    });
    if (!response.ok || !response.body) throw await errorFrom(response);

    let final: ChatReply | undefined;
    let failure: GatewayError | undefined;
    const parser = createParser({
      onEvent(event: EventSourceMessage) {
        if (event.data === '[DONE]') return;
        const payload = JSON.parse(event.data) as Partial<ChatReply> & { delta?: string } & ErrorBody;
        if (payload.error) {
          failure = new GatewayError(payload.error.message ?? 'error', undefined, payload.error.code ?? undefined);
        } else if (typeof payload.delta === 'string') {
          onDelta(payload.delta);
        } else if (typeof payload.sessionId === 'string') {
          final = payload as ChatReply;
        }
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(chunk.value);
    if (failure) throw failure;
    if (!final) throw new GatewayError('the reply stream ended before it was complete', undefined, 'stream_incomplete');
    return final;
  }
}

/** One line for the person at the terminal, naming the setting to fix where there is one. */
export function describeError(error: unknown, gatewayUrl: URL): string {
  if (!(error instanceof GatewayError)) {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return `cannot reach the gateway at ${gatewayUrl.origin} (CLAWDBOT_URL): ${reason}`;
  }
  switch (true) {
    case error.status === 401:
      return `the gateway rejected CLAWDBOT_API_KEY (401: ${error.message}); set it to one of the gateway's API keys`;
    case error.status === 429: {
      const wait = error.retryAfterSeconds ?? 1;
      return `rate limited by the gateway; try again in ${wait} second${wait === 1 ? '' : 's'}`;
    }
    case error.status === 504 || error.code === 'model_timeout':
      return `the model did not answer in time (${error.message}); try again in a moment`;
    case error.status === 502 || error.code === 'model_unavailable' || error.code === 'stream_incomplete':
      return `the model is not available right now (${error.message}); try again in a moment`;
    default:
      return `the gateway could not answer${error.status ? ` (${error.status})` : ''}: ${error.message}`;
  }
}
