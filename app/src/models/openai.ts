import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, parseAnswer, readStream, toModelError } from './sdk';
import { providerFetch } from './provider-fetch';
import {
  textOf,
  type ChatMessage,
  type ChatModel,
  type CompletionRequest,
  type CompletionResult,
  type FinishReason,
  type ModelDescriptor,
  type ModelStream,
  type TokenUsage,
  type ToolChoice,
} from './types';
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
// Calls of other types than `function` (custom tools) carry no function and are left out.
const toolCallShape = z.object({
  id: z.string(),
  type: z.string(),
  function: z.object({ name: z.string(), arguments: z.string() }).optional(),
});
const completionShape = z.object({
  model: z.string().nullish().catch(undefined),
  choices: z
    .array(
      z.object({
        // null content without tool calls (a refusal) is an answer without text, which the
        // conversation service refuses; with tool calls it is a complete answer.
        message: z.object({ content: z.string().nullable(), tool_calls: z.array(toolCallShape).nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1, 'has no choice'),
  usage: usageShape,
});
// A tool call arrives in pieces: the first of call `index` has its id and name, the rest argument text.
const toolCallPieceShape = z.object({
  index: z.number().int().min(0),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});
// With include_usage, the last chunk has no choices and the usage.
const chunkShape = z.object({
  choices: z.array(
    z.object({
      delta: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallPieceShape).nullish() }).optional(),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: usageShape,
});

type Nullish = null | undefined;

/**
 * The text of a chunk of the shape nearly every delta has: one choice whose delta carries
 * text and no tool call, no finish reason, no usage. Those are read without chunkShape, which
 * builds a copy of every object it checks (the most the gateway itself allocated per streamed
 * chunk); every other chunk, of a valid shape or not, goes through chunkShape.
 */
function plainText(answer: unknown): string | undefined {
  const chunk = answer as { choices?: unknown; usage?: unknown } | Nullish;
  if (typeof chunk !== 'object' || chunk === null || chunk.usage != null || !Array.isArray(chunk.choices) || chunk.choices.length !== 1) return undefined;
  const choice = chunk.choices[0] as { delta?: { content?: unknown; tool_calls?: unknown } | Nullish; finish_reason?: unknown } | Nullish;
  if (typeof choice !== 'object' || choice === null || choice.finish_reason != null) return undefined;
  const delta = choice.delta;
  if (typeof delta !== 'object' || delta === null || delta.tool_calls != null || typeof delta.content !== 'string') return undefined;
  return delta.content;
}

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  if (message.role === 'assistant' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      content: textOf(message.content) || null,
      tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
    };
  }
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

const toOpenAIToolChoice = (choice: ToolChoice): ChatCompletionToolChoiceOption =>
  typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };

/** OpenAI's finish reasons; the deprecated `function_call` is a tool call. */
function finishReasonOf(reason: string | null | undefined): FinishReason {
  if (reason === 'length' || reason === 'tool_calls' || reason === 'content_filter') return reason;
  return reason === 'function_call' ? 'tool_calls' : 'stop';
}

/**
 * The field that carries the answer length: OpenAI itself takes max_completion_tokens (its
 * reasoning models refuse max_tokens); the other OpenAI-compatible providers know max_tokens.
 */
const maxTokensField = (endpoint?: string) => (!endpoint || new URL(endpoint).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens');

// A multi-byte character may be split between two reads of the body.
const MORE_TO_COME = { stream: true };

/**
 * The chunks of a streamed completion, read from the SDK's raw response with eventsource-parser:
 * the SDK's own Stream passes every chunk through three async generators and a line decoder,
 * a sixth of what the gateway allocated per streamed token (bench/RESULTS.md). It keeps the Stream's
 * rules: `[DONE]` ends the answer (the body is still read to its end, so the connection goes
 * back to the pool), and a chunk carrying `error` fails the call (a 502 with the provider's
 * message). Stopping early leaves the request to readStream, which aborts it.
 */
async function* completionChunks(response: Response): AsyncGenerator<unknown> {
  const events: string[] = [];
  const parser = createParser({ onEvent: ({ data }) => events.push(data) });
  const text = new TextDecoder();
  let done = false;
  // providerFetch's body is a Node Readable (typed as the web stream of the built-in fetch): both iterate.
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(text.decode(bytes, MORE_TO_COME));
    for (let i = 0; i < events.length && !done; i++) {
      if (events[i].startsWith('[DONE]')) {
        done = true;
        break;
      }
      const chunk = JSON.parse(events[i]) as { error?: { message?: unknown } } | null;
      if (chunk?.error) throw new Error(`its stream carried an error: ${typeof chunk.error.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error)}`);
      yield chunk;
    }
    events.length = 0;
  }
}

/** Any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, MiniMax, Moonshot ...) via the official SDK. */
export class OpenAIModel implements ChatModel {
  readonly descriptor: ModelDescriptor;
  readonly supportsVision: boolean;
  private readonly client: OpenAI;
  private readonly bearer: string;
  // Decided once: the endpoint never changes, so no call needs to parse its URL again.
  private readonly maxTokensField: string;

  constructor(private readonly options: RemoteModelOptions) {
    this.descriptor = { provider: 'openai', name: options.name, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    this.supportsVision = supportsVision('openai', options.name);
    this.maxTokensField = maxTokensField(options.endpoint);
    this.bearer = options.apiSecret ? `${options.apiKey}:${options.apiSecret}` : options.apiKey;
    this.client = new OpenAI({
      apiKey: this.bearer,
      baseURL: options.endpoint,
      timeout: options.timeoutMs,
      maxRetries: MODEL_MAX_RETRIES,
      fetch: providerFetch,
    });
  }

  private body(request: CompletionRequest) {
    const sampling = request.sampling ?? {};
    const tools = request.tools;
    return {
      model: this.options.name,
      messages: request.messages.map(toOpenAIMessage),
      [this.maxTokensField]: request.maxTokens,
      temperature: request.temperature,
      top_p: sampling.topP,
      stop: sampling.stop,
      presence_penalty: sampling.presencePenalty,
      frequency_penalty: sampling.frequencyPenalty,
      seed: sampling.seed,
      user: request.endUser,
      ...(tools
        ? {
            tools: tools.definitions.map(({ name, description, parameters, strict }) => ({ type: 'function' as const, function: { name, description, parameters, strict } })),
            tool_choice: tools.choice && toOpenAIToolChoice(tools.choice),
            parallel_tool_calls: tools.parallel,
          }
        : {}),
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
    const choice = completion.choices[0];
    const toolCalls = (choice.message.tool_calls ?? []).flatMap((call) =>
      call.type === 'function' && call.function ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
    );
    return {
      text: choice?.message?.content ?? '',
      model: completion.model || this.options.name,
      finishReason: finishReasonOf(choice?.finish_reason),
      ...(toolCalls.length ? { toolCalls } : {}),
      ...(completion.usage ? { usage: usageOf(completion.usage) } : {}),
    };
  }

  stream(request: CompletionRequest): ModelStream {
    return readStream(
      this.options.timeoutMs,
      request.signal,
      async (signal) =>
        completionChunks(
          await this.client.chat.completions
            .create({ ...this.body(request), stream: true, ...(request.streamUsage ? { stream_options: { include_usage: true } } : {}) }, { signal })
            .asResponse(),
        ),
      (answer) => {
        const text = plainText(answer);
        if (text !== undefined) return { text };
        const chunk = parseAnswer(chunkShape, answer, this.descriptor);
        const choice = chunk.choices[0];
        return {
          text: choice?.delta?.content ?? undefined,
          toolCalls: choice?.delta?.tool_calls?.map((piece) => ({
            index: piece.index,
            id: piece.id ?? undefined,
            name: piece.function?.name ?? undefined,
            arguments: piece.function?.arguments ?? undefined,
          })),
          finishReason: choice?.finish_reason ? finishReasonOf(choice.finish_reason) : undefined,
          ...(chunk.usage ? { usage: usageOf(chunk.usage) } : {}),
        };
      },
      this.fail,
    );
  }
}

function usageOf(usage: NonNullable<z.infer<typeof usageShape>>): TokenUsage {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
