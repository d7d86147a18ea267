import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolChoice as AnthropicToolChoice,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { z } from 'zod';
import type { RemoteModelOptions } from './openai';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, parseAnswer, readStream, toModelError } from './sdk';
import { providerFetch } from './provider-fetch';
import { textOf, type ChatMessage, type ChatModel, type CompletionRequest, type CompletionResult, type FinishReason, type ModelDescriptor, type ModelStream, type Tools, type ToolCall } from './types';

/** Anthropic requires an answer length; this one applies when neither the client nor MAX_TOKENS set one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

const DATA_URL = /^data:(image\/(?:jpeg|png|gif|webp));base64,(.+)$/s;

function imageBlock(url: string): ImageBlockParam {
  const inline = DATA_URL.exec(url);
  if (inline) {
    return { type: 'image', source: { type: 'base64', media_type: inline[1] as 'image/png', data: inline[2] } };
  }
  return { type: 'image', source: { type: 'url', url } };
}

/**
 * A content block or delta of any type; one of a type the adapter reads must carry that type's
 * fields as strings (a text block its text, a tool_use block its id and name).
 */
const partWith = (fieldsByType: Record<string, string[]>) =>
  z.looseObject({ type: z.string() }).superRefine((part, context) => {
    for (const field of fieldsByType[part.type] ?? []) {
      if (typeof part[field] !== 'string') context.addIssue({ code: 'custom', message: `a ${part.type} part needs a ${field} string`, path: [field] });
    }
  });
type Part = z.infer<ReturnType<typeof partWith>>;
const textOfPart = (part: Part, textType: 'text' | 'text_delta') => (part.type === textType ? (part.text as string) : '');

// The fields of an answer that the adapter reads (parseAnswer); wrong-shaped usage is dropped.
const messageShape = z.object({
  model: z.string().nullish().catch(undefined),
  content: z.array(partWith({ text: ['text'], tool_use: ['id', 'name'] })),
  stop_reason: z.string().nullish(),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).nullish().catch(undefined),
});
// message_delta and content_block_delta both have a delta, of different shapes: each is checked on its own.
const contentDeltaShape = z.object({ index: z.number(), delta: partWith({ text_delta: ['text'], input_json_delta: ['partial_json'] }) });
const contentStartShape = z.object({ index: z.number(), content_block: partWith({ tool_use: ['id', 'name'] }) });
const messageDeltaShape = z.object({ delta: z.object({ stop_reason: z.string().nullish() }) });
const streamEventShape = z.object({
  type: z.string(),
  message: z.object({ usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }) }).optional().catch(undefined),
  usage: z.object({ output_tokens: z.number() }).optional().catch(undefined),
});

/** Arguments as the model wrote them; text that is not a JSON object goes as an empty input. */
function toolInput(call: ToolCall): Record<string, unknown> {
  try {
    const input: unknown = JSON.parse(call.arguments || '{}');
    return input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Assistant tool calls become tool_use blocks; tool results, tool_result blocks of a user turn. */
function toAnthropicMessage(message: ChatMessage): MessageParam {
  if (message.role === 'tool') {
    return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }] };
  }
  if (message.role === 'assistant' && message.toolCalls?.length) {
    const text = textOf(message.content);
    return {
      role: 'assistant',
      content: [
        ...(text ? [{ type: 'text' as const, text }] : []),
        ...message.toolCalls.map((call): ContentBlockParam => ({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call) })),
      ],
    };
  }
  const role = message.role === 'assistant' ? 'assistant' : 'user';
  if (typeof message.content === 'string') return { role, content: message.content };
  return {
    role,
    content: message.content.map((part): TextBlockParam | ImageBlockParam =>
      part.type === 'text' ? { type: 'text', text: part.text } : imageBlock(part.url),
    ),
  };
}

/**
 * Anthropic wants the results of one turn's tool calls in one user message, and strictly
 * alternating roles: consecutive messages of a role are merged into one.
 */
function alternating(messages: MessageParam[]): MessageParam[] {
  const blocks = (content: MessageParam['content']): ContentBlockParam[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : content);
  return messages.reduce<MessageParam[]>((merged, message) => {
    const last = merged.at(-1);
    if (last?.role === message.role) last.content = [...blocks(last.content), ...blocks(message.content)];
    else merged.push({ ...message });
    return merged;
  }, []);
}

function toAnthropicTools(tools: Tools): { tools: Tool[]; tool_choice?: AnthropicToolChoice } {
  const definitions = tools.definitions.map(({ name, description, parameters, strict }): Tool => ({
    name,
    ...(description ? { description } : {}),
    input_schema: { type: 'object', ...parameters },
    ...(strict !== undefined ? { strict } : {}),
  }));
  const disable = tools.parallel === false ? { disable_parallel_tool_use: true } : {};
  const choice = tools.choice;
  if (choice === 'none') return { tools: definitions, tool_choice: { type: 'none' } };
  if (choice === 'required') return { tools: definitions, tool_choice: { type: 'any', ...disable } };
  if (typeof choice === 'object') return { tools: definitions, tool_choice: { type: 'tool', name: choice.name, ...disable } };
  return { tools: definitions, ...(choice === 'auto' || tools.parallel === false ? { tool_choice: { type: 'auto', ...disable } } : {}) };
}

/** Anthropic's stop reasons in OpenAI's words. */
function finishReasonOf(reason: string | null | undefined): FinishReason {
  if (reason === 'max_tokens' || reason === 'model_context_window_exceeded') return 'length';
  if (reason === 'tool_use') return 'tool_calls';
  if (reason === 'refusal') return 'content_filter';
  return 'stop';
}

/** Claude via the official Anthropic SDK; system messages become the system prompt. */
export class AnthropicModel implements ChatModel {
  readonly descriptor: ModelDescriptor;
  readonly supportsVision = true;
  private readonly client: Anthropic;

  constructor(private readonly options: RemoteModelOptions) {
    this.descriptor = { provider: 'anthropic', name: options.name, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    this.client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.endpoint,
      timeout: options.timeoutMs,
      maxRetries: MODEL_MAX_RETRIES,
      fetch: providerFetch,
    });
  }

  private body(request: CompletionRequest) {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => textOf(m.content))
      .join('\n\n');
    // Anthropic has no penalties and no seed; top_p and stop sequences it has.
    const { topP, stop } = request.sampling ?? {};
    const conversation = request.messages.filter((m) => m.role !== 'system');
    return {
      model: this.options.name,
      max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      // Anthropic takes 0–1; OpenAI-style requests may carry up to 2.
      ...(request.temperature !== undefined ? { temperature: Math.min(request.temperature, 1) } : {}),
      top_p: topP,
      stop_sequences: stop,
      ...(request.endUser ? { metadata: { user_id: request.endUser } } : {}),
      ...(request.tools ? toAnthropicTools(request.tools) : {}),
      // Anthropic needs one message at least: a system-only conversation is the system's turn.
      ...(system && conversation.length ? { system } : {}),
      messages: conversation.length ? alternating(conversation.map(toAnthropicMessage)) : [{ role: 'user' as const, content: system }],
    };
  }

  private fail = (error: unknown, deadline: Deadline) => toModelError(error, deadline, Anthropic, this.descriptor, this.options.apiKey);

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const answer = await callWithDeadline(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create(this.body(request), { signal }),
      this.fail,
    );
    const message = parseAnswer(messageShape, answer, this.descriptor);
    const toolCalls = message.content.flatMap((block) =>
      block.type === 'tool_use' ? [{ id: block.id as string, name: block.name as string, arguments: JSON.stringify(block.input ?? {}) }] : [],
    );
    return {
      text: message.content.map((block) => textOfPart(block, 'text')).join(''),
      model: message.model || this.options.name,
      finishReason: finishReasonOf(message.stop_reason),
      ...(toolCalls.length ? { toolCalls } : {}),
      ...(message.usage ? { usage: { promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens } } : {}),
    };
  }

  stream(request: CompletionRequest): ModelStream {
    return readStream(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create({ ...this.body(request), stream: true }, { signal }),
      (answer) => {
        const event = parseAnswer(streamEventShape, answer, this.descriptor);
        // message_start counts the prompt; message_delta carries the output count so far and the
        // stop reason. A tool_use block starts with its id and name, its input arrives as JSON text.
        if (event.type === 'content_block_delta') {
          const { index, delta } = parseAnswer(contentDeltaShape, answer, this.descriptor);
          if (delta.type === 'input_json_delta') return { toolCalls: [{ index, arguments: delta.partial_json as string }] };
          return { text: textOfPart(delta, 'text_delta') };
        }
        if (event.type === 'content_block_start') {
          const { index, content_block: block } = parseAnswer(contentStartShape, answer, this.descriptor);
          return block.type === 'tool_use' ? { toolCalls: [{ index, id: block.id as string, name: block.name as string }] } : {};
        }
        if (event.type === 'message_start' && event.message) {
          return { usage: { promptTokens: event.message.usage.input_tokens, completionTokens: event.message.usage.output_tokens } };
        }
        if (event.type === 'message_delta') {
          const { stop_reason: reason } = parseAnswer(messageDeltaShape, answer, this.descriptor).delta;
          return { ...(event.usage ? { usage: { completionTokens: event.usage.output_tokens } } : {}), ...(reason ? { finishReason: finishReasonOf(reason) } : {}) };
        }
        return {};
      },
      this.fail,
    );
  }
}
