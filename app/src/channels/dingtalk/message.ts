import { z } from 'zod';
import { firstProblem } from '../../lib/validation';
import type { InboundContent } from '../answer';

// The robot message, as the HTTP callback and the Stream push both deliver it.
const robotMessageSchema = z.object({
  msgId: z.string().min(1),
  msgtype: z.string().min(1),
  conversationId: z.string().min(1),
  conversationType: z.enum(['1', '2']),
  senderStaffId: z.string().optional(),
  senderId: z.string().optional(),
  sessionWebhook: z.string().optional(),
  sessionWebhookExpiredTime: z.number().optional(),
  text: z.object({ content: z.string() }).optional(),
  content: z.unknown().optional(),
});

const pictureContentSchema = z.object({ downloadCode: z.string().min(1) });
const richTextContentSchema = z.object({
  richText: z.array(z.object({ text: z.string().optional(), downloadCode: z.string().optional(), type: z.string().optional() })),
});

/** What the inbox keeps of a robot message: enough to answer it, even after a restart. */
export interface DingtalkJob {
  msgId: string;
  conversationId: string;
  group: boolean;
  /** Who the session belongs to: the staff id, or the encrypted sender id of an outsider. */
  senderId: string;
  senderStaffId?: string;
  /** The conversation's reply URL while it is valid (about 90 minutes). */
  webhook?: { url: string; expiresAt: number };
  content: InboundContent;
}

export type ParsedRobotMessage =
  | { ok: true; job: DingtalkJob }
  | { ok: false; reason: 'unknown_shape' | 'foreign_webhook'; message: string };

function contentOf(message: z.infer<typeof robotMessageSchema>): InboundContent | undefined {
  switch (message.msgtype) {
    case 'text':
      // DingTalk leaves a space where the @mention was.
      return message.text ? { text: message.text.content.trim(), pictures: [] } : undefined;
    case 'picture': {
      const picture = pictureContentSchema.safeParse(message.content);
      return picture.success ? { text: '', pictures: [picture.data.downloadCode] } : undefined;
    }
    case 'richText': {
      const rich = richTextContentSchema.safeParse(message.content);
      if (!rich.success) return undefined;
      const text = rich.data.richText.map((item) => item.text?.trim() ?? '').filter(Boolean).join('\n');
      const pictures = rich.data.richText.flatMap((item) => (item.downloadCode ? [item.downloadCode] : []));
      return { text, pictures };
    }
    default:
      return { text: '', pictures: [], unsupportedType: message.msgtype };
  }
}

/**
 * Validates a robot message. Its reply webhook is kept only on DingTalk's own origin
 * (`oapiOrigin`): a message pointing anywhere else is refused outright.
 */
export function parseRobotMessage(body: unknown, oapiOrigin: string): ParsedRobotMessage {
  const parsed = robotMessageSchema.safeParse(body);
  if (!parsed.success) {
    const { field, message } = firstProblem(parsed.error);
    return { ok: false, reason: 'unknown_shape', message: `robot message: ${field || 'body'}: ${message}` };
  }
  const message = parsed.data;
  const senderId = message.senderStaffId || message.senderId;
  if (!senderId) return { ok: false, reason: 'unknown_shape', message: 'robot message: senderStaffId or senderId is required' };
  const content = contentOf(message);
  if (!content) return { ok: false, reason: 'unknown_shape', message: `robot message: content does not match msgtype ${message.msgtype}` };

  let webhook: DingtalkJob['webhook'];
  if (message.sessionWebhook) {
    let origin: string;
    try {
      origin = new URL(message.sessionWebhook).origin;
    } catch {
      return { ok: false, reason: 'foreign_webhook', message: 'robot message: sessionWebhook is not a URL' };
    }
    if (origin !== oapiOrigin) {
      return { ok: false, reason: 'foreign_webhook', message: `robot message: sessionWebhook must be on ${oapiOrigin}` };
    }
    webhook = { url: message.sessionWebhook, expiresAt: message.sessionWebhookExpiredTime ?? 0 };
  }

  return {
    ok: true,
    job: {
      msgId: message.msgId,
      conversationId: message.conversationId,
      group: message.conversationType === '2',
      senderId,
      senderStaffId: message.senderStaffId || undefined,
      webhook,
      content,
    },
  };
}
