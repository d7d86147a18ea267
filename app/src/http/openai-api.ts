import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import type { ChatMessage, Sampling, TokenUsage } from '../models/types';
import { parseBody } from './errors';
import { ClientDisconnect, sendEventStream } from './sse';

const contentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }) }),
]);

/**
 * The Chat Completions fields the gateway honours. Any other field (tools, n > 1, a JSON
 * response_format, logit_bias ...) is refused with a 400 naming it: silently ignoring it would
 * hand the client an answer to a different request. Sampling fields go to the provider (see
 * Sampling); `user` is accepted and not used.
 */
const completionRequest = z.strictObject(
  {
    /** Accepted for compatibility; the gateway answers with its current model. */
    model: z.string().optional(),
    messages: z
      .array(
        z.object({
          role: z.enum(['system', 'developer', 'user', 'assistant']),
          content: z.union([z.string(), z.array(contentPart).min(1)], { error: 'must be a string or a non-empty array of text and image_url parts' }),
        }),
      )
      .min(1)
      .refine((messages) => messages.some((m) => m.role === 'user'), 'needs at least one user message'),
    stream: z.boolean().optional(),
    stream_options: z.strictObject({ include_usage: z.boolean().optional() }).optional(),
    max_tokens: z.number().int().positive().optional(),
    max_completion_tokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    seed: z.number().int().optional(),
    n: z.literal(1, { error: 'only one choice (n: 1) is supported' }).optional(),
    response_format: z.strictObject({ type: z.literal('text', { error: 'only text answers are supported' }) }).optional(),
    user: z.string().optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'not supported by this gateway' : undefined) },
);

type CompletionBody = z.infer<typeof completionRequest>;

const usageBody = (usage: TokenUsage) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
});

function samplingOf(body: CompletionBody): Sampling | undefined {
  const sampling: Sampling = {
    topP: body.top_p,
    stop: typeof body.stop === 'string' ? [body.stop] : body.stop,
    presencePenalty: body.presence_penalty,
    frequencyPenalty: body.frequency_penalty,
    seed: body.seed,
  };
  return Object.values(sampling).some((value) => value !== undefined) ? sampling : undefined;
}

function toChatMessages(messages: CompletionBody['messages']): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string'
      ? m.content
      : m.content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image', url: part.image_url.url })),
  }));
}

const epochSeconds = (iso?: string) => Math.floor((iso ? Date.parse(iso) : Date.now()) / 1000);
const startedAt = new Date().toISOString();

/** The OpenAI-compatible API: /v1/chat/completions (plain and SSE) and /v1/models. */
export const openaiApiPlugin: FastifyPluginAsync<GatewayDeps> = async (app, { chat, models }) => {
  app.get(ROUTES.models, async () => {
    const { model, switchedAt } = models.status();
    return { object: 'list', data: [{ id: model.name, object: 'model', owned_by: model.provider, created: epochSeconds(switchedAt ?? startedAt) }] };
  });

  app.post(ROUTES.chatCompletions, async (request, reply) => {
    const body = parseBody(completionRequest, request.body);
    const messages = toChatMessages(body.messages);
    const disconnect = new ClientDisconnect(reply);
    const includeUsage = body.stream === true && body.stream_options?.include_usage === true;
    const options = {
      streamUsage: includeUsage,
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      temperature: body.temperature,
      sampling: samplingOf(body),
      // A getter: only a model call reads it (see ClientDisconnect).
      get signal() {
        return disconnect.signal;
      },
    };
    const id = `chatcmpl-${randomUUID()}`;
    const created = epochSeconds();

    if (!body.stream) {
      const answer = await chat.complete(messages, options);
      return {
        id,
        object: 'chat.completion',
        created,
        model: answer.model.name,
        choices: [{ index: 0, message: { role: 'assistant', content: answer.text }, finish_reason: 'stop' }],
        ...(answer.usage ? { usage: usageBody(answer.usage) } : {}),
      };
    }

    const stream = chat.completeStream(messages, options);
    // With include_usage, as OpenAI does: `usage: null` on every chunk, then one chunk without
    // choices that has it (null here too for rules and cached answers, which count no tokens).
    const chunk = (choices: unknown[], usage?: TokenUsage) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: stream.model.name,
      choices,
      ...(includeUsage ? { usage: usage ? usageBody(usage) : null } : {}),
    });
    const choice = (delta: Record<string, string>, finishReason: 'stop' | null) => [{ index: 0, delta, finish_reason: finishReason }];
    return sendEventStream(reply, stream, {
      delta: (text, index) => chunk(choice(index === 0 ? { role: 'assistant', content: text } : { content: text }, null)),
      end: () => [chunk(choice({}, 'stop')), ...(includeUsage ? [chunk([], stream.usage)] : [])],
    });
  });
};
