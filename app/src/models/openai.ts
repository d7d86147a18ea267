import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, readStream, toModelError } from './sdk';
import { textOf, type ChatMessage, type ChatModel, type CompletionRequest, type CompletionResult, type ModelDescriptor, type ModelStream, type TokenUsage } from './types';
import { supportsVision } from './vision';

export interface RemoteModelOptions {
  name: string;
  /** Base URL; the SDK's default when omitted. */
  endpoint?: string;
  apiKey: string;
  /** For providers that issue a key pair and take `key:secret` as the bearer token. */
  apiSecret?: string;
  timeoutMs: number;
}

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  if (typeof message.content === 'string' || message.role !== 'user') {
    return { role: message.role, content: textOf(message.content) };
  }
  return {
    role: 'user',
    content: message.content.map((part) =>
      part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: part.url } },
    ),
  };
}

/** Any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, MiniMax, Moonshot ...) via the official SDK. */
export class OpenAIModel implements ChatModel {
  readonly descriptor: ModelDescriptor;
  readonly supportsVision: boolean;
  private readonly client: OpenAI;
  private readonly bearer: string;

  constructor(private readonly options: RemoteModelOptions) {
    this.descriptor = { provider: 'openai', name: options.name, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    this.supportsVision = supportsVision('openai', options.name);
    this.bearer = options.apiSecret ? `${options.apiKey}:${options.apiSecret}` : options.apiKey;
    this.client = new OpenAI({
      apiKey: this.bearer,
      baseURL: options.endpoint,
      timeout: options.timeoutMs,
      maxRetries: MODEL_MAX_RETRIES,
    });
  }

  private body(request: CompletionRequest) {
    const sampling = request.sampling ?? {};
    return {
      model: this.options.name,
      messages: request.messages.map(toOpenAIMessage),
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: sampling.topP,
      stop: sampling.stop,
      presence_penalty: sampling.presencePenalty,
      frequency_penalty: sampling.frequencyPenalty,
      seed: sampling.seed,
    };
  }

  private fail = (error: unknown, deadline: Deadline) => toModelError(error, deadline, OpenAI, this.descriptor, this.bearer);

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const completion = await callWithDeadline(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.chat.completions.create(this.body(request), { signal }),
      this.fail,
    );
    return {
      text: completion.choices[0]?.message?.content ?? '',
      model: completion.model || this.options.name,
      ...(completion.usage ? { usage: usageOf(completion.usage) } : {}),
    };
  }

  stream(request: CompletionRequest): ModelStream {
    return readStream(
      this.options.timeoutMs,
      request.signal,
      (signal) =>
        this.client.chat.completions.create(
          { ...this.body(request), stream: true, ...(request.streamUsage ? { stream_options: { include_usage: true } } : {}) },
          { signal },
        ),
      // With include_usage, the last chunk has no choices and the usage.
      (chunk) => ({ text: chunk.choices[0]?.delta?.content ?? undefined, ...(chunk.usage ? { usage: usageOf(chunk.usage) } : {}) }),
      this.fail,
    );
  }
}

function usageOf(usage: OpenAI.CompletionUsage): TokenUsage {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
