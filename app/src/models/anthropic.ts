import Anthropic from '@anthropic-ai/sdk';
import type { ImageBlockParam, MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import type { RemoteModelOptions } from './openai';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, readStream, toModelError } from './sdk';
import { textOf, type ChatMessage, type ChatModel, type CompletionRequest, type CompletionResult, type ModelDescriptor, type ModelStream } from './types';

const DATA_URL = /^data:(image\/(?:jpeg|png|gif|webp));base64,(.+)$/s;

function imageBlock(url: string): ImageBlockParam {
  const inline = DATA_URL.exec(url);
  if (inline) {
    return { type: 'image', source: { type: 'base64', media_type: inline[1] as 'image/png', data: inline[2] } };
  }
  return { type: 'image', source: { type: 'url', url } };
}

function toAnthropicMessage(message: ChatMessage): MessageParam {
  const role = message.role === 'assistant' ? 'assistant' : 'user';
  if (typeof message.content === 'string') return { role, content: message.content };
  return {
    role,
    content: message.content.map((part): TextBlockParam | ImageBlockParam =>
      part.type === 'text' ? { type: 'text', text: part.text } : imageBlock(part.url),
    ),
  };
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
    return {
      model: this.options.name,
      max_tokens: request.maxTokens,
      // Anthropic takes 0–1; OpenAI-style requests may carry up to 2.
      temperature: Math.min(request.temperature, 1),
      top_p: topP,
      stop_sequences: stop,
      ...(system ? { system } : {}),
      messages: request.messages.filter((m) => m.role !== 'system').map(toAnthropicMessage),
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
    return {
      text: message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
      model: message.model,
      usage: { promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens },
    };
  }

  stream(request: CompletionRequest): ModelStream {
    return readStream(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create({ ...this.body(request), stream: true }, { signal }),
      (event) => {
        // message_start counts the prompt; message_delta carries the output count so far.
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') return { text: event.delta.text };
        if (event.type === 'message_start') return { usage: { promptTokens: event.message.usage.input_tokens, completionTokens: event.message.usage.output_tokens } };
        if (event.type === 'message_delta') return { usage: { completionTokens: event.usage.output_tokens } };
        return {};
      },
      this.fail,
    );
  }
}
