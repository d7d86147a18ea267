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

/** How a stream ended: completed (with its ending), failed, or abandoned by its consumer. */
export type StreamEnd = { kind: 'ok'; ending: AnswerEnding } | { kind: 'failed'; error: unknown } | { kind: 'abandoned' };

/**
 * `source` with each delta shown to `each` and its end to `end` (once, if it started). A plain
 * iterator, not an async generator: a generator layer that passes deltas on costs every delta
 * a promise chain of its own and about 300 bytes, this one `then` (bench/RESULTS.md, eighth
 * session). A consumer that stops early (return()) stops the source too.
 */
export function tap(source: ModelStream, each?: (delta: string) => void, end?: (how: StreamEnd) => void): ModelStream {
  return new TappedStream(source, each, end);
}

class TappedStream implements ModelStream {
  private started = false;
  private ended = false;

  constructor(
    private readonly source: ModelStream,
    private readonly each?: (delta: string) => void,
    private readonly end?: (how: StreamEnd) => void,
  ) {}

  next(...args: [] | [unknown]): Promise<IteratorResult<string, AnswerEnding>> {
    this.started = true;
    return this.source.next(...args).then(
      (step) => {
        if (step.done) this.finish({ kind: 'ok', ending: step.value });
        else this.each?.(step.value);
        return step;
      },
      (error: unknown) => {
        this.finish({ kind: 'failed', error });
        throw error;
      },
    );
  }

  return(value: AnswerEnding | PromiseLike<AnswerEnding>): Promise<IteratorResult<string, AnswerEnding>> {
    if (this.started) this.finish({ kind: 'abandoned' });
    return this.source.return(value);
  }

  throw(error: unknown): Promise<IteratorResult<string, AnswerEnding>> {
    if (this.started) this.finish({ kind: 'failed', error });
    return this.source.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // As an async generator's: disposing stops it (the value given to return() is discarded).
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return(undefined as never);
  }

  private finish(how: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.end?.(how);
  }
}
