import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import type { ChatMessage } from '../models/types';
import { parseBody } from './errors';
import { abortOnDisconnect, sendEventStream } from './sse';

const contentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }) }),
]);

const completionRequest = z.object({
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
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
});

function toChatMessages(messages: z.infer<typeof completionRequest>['messages']): ChatMessage[] {
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
    const options = {
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      temperature: body.temperature,
      signal: abortOnDisconnect(reply),
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
        ...(answer.usage
          ? { usage: { prompt_tokens: answer.usage.promptTokens, completion_tokens: answer.usage.completionTokens, total_tokens: answer.usage.promptTokens + answer.usage.completionTokens } }
          : {}),
      };
    }

    const stream = chat.completeStream(messages, options);
    const chunk = (delta: Record<string, string>, finishReason: 'stop' | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: stream.model.name,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    return sendEventStream(reply, stream, {
      delta: (text, index) => chunk(index === 0 ? { role: 'assistant', content: text } : { content: text }, null),
      end: () => [chunk({}, 'stop')],
    });
  });
};
