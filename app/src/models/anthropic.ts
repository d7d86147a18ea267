import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageParam,
  StopReason,
  TextBlockParam,
  Tool,
  ToolChoice as AnthropicToolChoice,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { RemoteModelOptions } from './openai';
import type { Deadline } from '../deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, readStream, toModelError } from './sdk';
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
function finishReasonOf(reason: StopReason | null | undefined): FinishReason {
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
    const message = await callWithDeadline(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create(this.body(request), { signal }),
      this.fail,
    );
    const toolCalls = message.content.flatMap((block) =>
      block.type === 'tool_use' ? [{ id: block.id, name: block.name, arguments: JSON.stringify(block.input) }] : [],
    );
    return {
      text: message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
      model: message.model,
      finishReason: finishReasonOf(message.stop_reason),
      ...(toolCalls.length ? { toolCalls } : {}),
      usage: { promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens },
    };
  }

  stream(request: CompletionRequest): ModelStream {
    return readStream(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create({ ...this.body(request), stream: true }, { signal }),
      (event) => {
        // message_start counts the prompt; message_delta carries the output count so far and the
        // stop reason. A tool_use block starts with its id and name, its input arrives as JSON text.
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') return { text: event.delta.text };
        if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
          return { toolCalls: [{ index: event.index, arguments: event.delta.partial_json }] };
        }
        if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          return { toolCalls: [{ index: event.index, id: event.content_block.id, name: event.content_block.name }] };
        }
        if (event.type === 'message_start') return { usage: { promptTokens: event.message.usage.input_tokens, completionTokens: event.message.usage.output_tokens } };
        if (event.type === 'message_delta') {
          return { usage: { completionTokens: event.usage.output_tokens }, ...(event.delta.stop_reason ? { finishReason: finishReasonOf(event.delta.stop_reason) } : {}) };
        }
        return {};
      },
      this.fail,
    );
  }
}
