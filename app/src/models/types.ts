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

/** A function call the model asked for; `arguments` is JSON text, as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: MessageContent }
  /** `toolCalls`: the calls the assistant asked for (its content may then be empty). */
  | { role: 'assistant'; content: MessageContent; toolCalls?: ToolCall[] }
  /** A tool's result, answering the call `toolCallId`. */
  | { role: 'tool'; content: string; toolCallId: string };

/** A function the client offers the model; `parameters` is its JSON Schema. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

/** Whether the model may (auto), must not (none), must (required) call a tool, or must call this one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** The tools of a request, passed to providers that can call them. */
export interface Tools {
  definitions: ToolDefinition[];
  choice?: ToolChoice;
  /** false: at most one call per answer. */
  parallel?: boolean;
}

/** Why the model stopped, in OpenAI's words. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Whether a conversation uses tools: offers them, or has tool calls or results in its history. */
export function usesTools(messages: ChatMessage[], tools?: Tools): boolean {
  return tools !== undefined || messages.some((m) => m.role === 'tool' || (m.role === 'assistant' && m.toolCalls?.length));
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
  /** Unset: the provider's default (Anthropic, which requires one, gets ANTHROPIC_DEFAULT_MAX_TOKENS). */
  maxTokens?: number;
  /** Unset: the provider's default. */
  temperature?: number;
  sampling?: Sampling;
  tools?: Tools;
  /** The client's end-user id (OpenAI's `user`), for the provider's abuse monitoring. */
  endUser?: string;
  /** Streams: ask for the usage; OpenAI-compatible providers report it only when asked. */
  streamUsage?: boolean;
  signal?: AbortSignal;
}

/** Tokens a call used, as the provider reported them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** The usage of an answer no provider was asked for (the rules engine, the cache): none. */
export const NO_TOKENS: TokenUsage = Object.freeze({ promptTokens: 0, completionTokens: 0 });

/** How an answer ended: why, the tool calls it asked for, and the usage, when reported. */
export interface AnswerEnding {
  finishReason: FinishReason;
  toolCalls?: ToolCall[];
  usage?: TokenUsage;
}

export interface CompletionResult extends AnswerEnding {
  text: string;
  /** The model that answered. */
  model: string;
}

/** Text deltas as they arrive; returns how the answer ended (tool calls arrive whole, there). */
export type ModelStream = AsyncGenerator<string, AnswerEnding>;

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
    // The value given to return() is discarded: the caller stopped listening.
    if (!ended) await source.return(undefined as never);
  }
}
