import type { ModelProvider } from '../lib/config';

export interface TextPart {
  type: 'text';
  text: string;
}

/** A picture, as an https URL or a data: URL. Only vision-capable models accept it. */
export interface ImagePart {
  type: 'image';
  url: string;
}

export type MessageContent = string | Array<TextPart | ImagePart>;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: MessageContent;
}

/**
 * Sampling parameters a client may set besides temperature and the answer length. Each
 * provider gets those it has: OpenAI-compatible ones all of them, Anthropic topP and stop.
 */
export interface Sampling {
  topP?: number;
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
}

export interface CompletionRequest {
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  sampling?: Sampling;
  /** Streams: ask for the usage; OpenAI-compatible providers report it only when asked. */
  streamUsage?: boolean;
  signal?: AbortSignal;
}

/** Tokens a call used, as the provider reported them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface CompletionResult {
  text: string;
  /** The model that answered. */
  model: string;
  usage?: TokenUsage;
}

/** Text deltas as they arrive; returns the usage, when the provider reported it. */
export type ModelStream = AsyncGenerator<string, TokenUsage | undefined>;

/** What a model is, without its credentials. */
export interface ModelDescriptor {
  provider: ModelProvider;
  name: string;
  endpoint?: string;
}

export interface ChatModel {
  readonly descriptor: ModelDescriptor;
  readonly supportsVision: boolean;
  complete(request: CompletionRequest): Promise<CompletionResult>;
  stream(request: CompletionRequest): ModelStream;
}

/**
 * A model call that failed upstream. Clients see it as an OpenAI-style error body with
 * 502 (the provider failed, or answered with a body of the wrong shape or without text) or 504
 * (the provider timed out).
 */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly status: 502 | 504,
    readonly code: 'model_unavailable' | 'model_timeout' | 'model_invalid_response',
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Text of a message, with pictures left out. */
export function textOf(content: MessageContent): string {
  if (typeof content === 'string') return content;
  return content
    .filter((part): part is TextPart => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

/**
 * Passes a model stream's deltas on, showing each to `each`, and returns what the stream
 * returned (`for await` drops it). A consumer that stops early stops the source too.
 */
export async function* relay(source: ModelStream, each: (delta: string) => void): ModelStream {
  let ended = false;
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) {
        ended = true;
        return next.value;
      }
      each(next.value);
      yield next.value;
    }
  } finally {
    if (!ended) await source.return(undefined);
  }
}
