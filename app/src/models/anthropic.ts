import Anthropic from '@anthropic-ai/sdk';
import type { ImageBlockParam, MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import { z } from 'zod';
import type { RemoteModelOptions } from './openai';
import type { Deadline } from '../lib/deadline';
import { callWithDeadline, MODEL_MAX_RETRIES, parseAnswer, readStream, toModelError } from './sdk';
import { textOf, type ChatMessage, type ChatModel, type CompletionRequest, type CompletionResult, type ModelDescriptor, type ModelStream } from './types';

const DATA_URL = /^data:(image\/(?:jpeg|png|gif|webp));base64,(.+)$/s;

function imageBlock(url: string): ImageBlockParam {
  const inline = DATA_URL.exec(url);
  if (inline) {
    return { type: 'image', source: { type: 'base64', media_type: inline[1] as 'image/png', data: inline[2] } };
  }
  return { type: 'image', source: { type: 'url', url } };
}

/** A content block or delta of any type; one of `textType` must carry its text. */
const partWithText = (textType: 'text' | 'text_delta') =>
  z
    .object({ type: z.string(), text: z.unknown() })
    .refine((part) => part.type !== textType || typeof part.text === 'string', { message: `a ${textType} part needs a text string`, path: ['text'] });
const textOfPart = (part: { type: string; text: unknown }, textType: 'text' | 'text_delta') => (part.type === textType ? (part.text as string) : '');

// The fields of an answer that the adapter reads (parseAnswer); wrong-shaped usage is dropped.
const messageShape = z.object({
  model: z.string().nullish().catch(undefined),
  content: z.array(partWithText('text')),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).nullish().catch(undefined),
});
// message_delta has a delta too, of another shape: a content_block_delta's is checked on its own.
const contentDeltaShape = z.object({ delta: partWithText('text_delta') });
const streamEventShape = z.object({
  type: z.string(),
  message: z.object({ usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }) }).optional().catch(undefined),
  usage: z.object({ output_tokens: z.number() }).optional().catch(undefined),
});

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
    const answer = await callWithDeadline(
      this.options.timeoutMs,
      request.signal,
      (signal) => this.client.messages.create(this.body(request), { signal }),
      this.fail,
    );
    const message = parseAnswer(messageShape, answer, this.descriptor);
    return {
      text: message.content.map((block) => textOfPart(block, 'text')).join(''),
      model: message.model || this.options.name,
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
        // message_start counts the prompt; message_delta carries the output count so far.
        if (event.type === 'content_block_delta') return { text: textOfPart(parseAnswer(contentDeltaShape, answer, this.descriptor).delta, 'text_delta') };
        if (event.type === 'message_start' && event.message) {
          return { usage: { promptTokens: event.message.usage.input_tokens, completionTokens: event.message.usage.output_tokens } };
        }
        if (event.type === 'message_delta' && event.usage) return { usage: { completionTokens: event.usage.output_tokens } };
        return {};
      },
      this.fail,
    );
  }
}
