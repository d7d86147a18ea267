import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, parseAnswer, readStream, toModelError } from './sdk';
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

// The fields of an answer that the adapter reads (parseAnswer). Usage counts are optional:
// a wrong-shaped usage is dropped rather than failing an answer that has its text.
const usageShape = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish().catch(undefined);
const completionShape = z.object({
  model: z.string().nullish().catch(undefined),
  // null content (a refusal) is an answer without text, which the conversation service refuses.
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1, 'has no choice'),
  usage: usageShape,
});
// With include_usage, the last chunk has no choices and the usage.
const chunkShape = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }).optional() })),
  usage: usageShape,
});

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
    const answer = await callWithDeadline(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.chat.completions.create(this.body(request), { signal }),
      this.fail,
    );
    const completion = parseAnswer(completionShape, answer, this.descriptor);
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
      (answer) => {
        const chunk = parseAnswer(chunkShape, answer, this.descriptor);
        return { text: chunk.choices[0]?.delta?.content ?? undefined, ...(chunk.usage ? { usage: usageOf(chunk.usage) } : {}) };
      },
      this.fail,
    );
  }
}

function usageOf(usage: NonNullable<z.infer<typeof usageShape>>): TokenUsage {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
