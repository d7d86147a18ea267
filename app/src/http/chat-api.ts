import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { IM_PLATFORMS, isImSessionId } from '../chat/service';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import { parseBody } from './errors';
import { ClientDisconnect, sendEventStream } from './sse';

const chatRequest = z.object({
  sessionId: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^\s\p{Cc}]+$/u, 'no spaces or control characters')
    // Else any API key could read and write the memory of a person in DingTalk or Feishu.
    .refine((id) => !isImSessionId(id), `must not start with ${IM_PLATFORMS.map((p) => `"${p}:"`).join(' or ')}: those are IM sessions`)
    .optional(),
  message: z.string().trim().min(1, 'must not be empty'),
  stream: z.boolean().optional(),
  /** Which client sent it, for the conversation log; `api` when omitted. */
  channel: z.enum(['api', 'web', 'tui']).optional(),
});

/**
 * POST /api/chat: one turn of a session whose history the gateway keeps. Without a
 * sessionId a new session (UUID) starts; the reply says which. Sessions belong to the API key
 * that made them: another key naming the same sessionId gets a new, empty session of its own.
 */
export const chatApiPlugin: FastifyPluginAsync<GatewayDeps> = async (app, { chat }) => {
  app.post(ROUTES.chat, async (request, reply) => {
    const body = parseBody(chatRequest, request.body);
    const disconnect = new ClientDisconnect(reply);
    const turn = {
      sessionId: body.sessionId ?? randomUUID(),
      // requireApiKey has refused requests without a valid key.
      principal: request.apiKeyId as string,
      channel: body.channel ?? 'api',
      message: body.message,
      // A getter: only a model call reads it (see ClientDisconnect).
      get signal() {
        return disconnect.signal;
      },
    };
    if (!body.stream) {
      const answer = await chat.reply(turn);
      return { sessionId: answer.sessionId, reply: answer.reply, model: { provider: answer.model.provider, name: answer.model.name } };
    }
    const stream = chat.replyStream(turn);
    const model = { provider: stream.model.provider, name: stream.model.name };
    return sendEventStream(reply, stream, {
      delta: (text) => JSON.stringify({ delta: text }),
      end: (text) => [{ sessionId: turn.sessionId, reply: text, model }],
    });
  });
};
