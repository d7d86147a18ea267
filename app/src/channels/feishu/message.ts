import { z } from 'zod';
import type { InboundContent } from '../answer';

// im.message.receive_v1, as the webhook (event) and the long connection (flattened) carry it.
export const receiveEventSchema = z.object({
  sender: z.object({
    sender_id: z.object({ open_id: z.string().min(1) }),
    sender_type: z.string(),
  }),
  message: z.object({
    message_id: z.string().min(1),
    chat_id: z.string().min(1),
    chat_type: z.string().min(1),
    message_type: z.string().min(1),
    /** A JSON string whose shape depends on message_type. */
    content: z.string(),
    mentions: z.array(z.object({ key: z.string(), id: z.object({ open_id: z.string().optional() }) })).optional(),
  }),
});

export type ReceiveEvent = z.infer<typeof receiveEventSchema>;

/** What the inbox keeps of a Feishu message: enough to answer it, even after a restart. */
export interface FeishuJob {
  messageId: string;
  chatId: string;
  senderOpenId: string;
  content: InboundContent;
  /**
   * The open_ids a group message mentions, kept when the bot's own was not known yet at the
   * acknowledgement: the worker then decides whether the message is for the bot.
   */
  mentions?: string[];
}

const textContentSchema = z.object({ text: z.string() });
const imageContentSchema = z.object({ image_key: z.string().min(1) });
const postElementSchema = z.object({ tag: z.string(), text: z.string().optional(), image_key: z.string().optional() });
const postBodySchema = z.object({ title: z.string().optional(), content: z.array(z.array(postElementSchema)) });

/** A post arrives either as the body itself or keyed by language (zh_cn, en_us ...). */
function postBody(value: unknown): z.infer<typeof postBodySchema> | undefined {
  const direct = postBodySchema.safeParse(value);
  if (direct.success) return direct.data;
  if (value && typeof value === 'object') {
    for (const localized of Object.values(value)) {
      const body = postBodySchema.safeParse(localized);
      if (body.success) return body.data;
    }
  }
  return undefined;
}

/** Mentions show up in text as placeholders ("@_user_1"); they are not part of the question. */
function withoutMentions(text: string, mentionKeys: string[]): string {
  let result = text;
  for (const key of mentionKeys) result = result.split(key).join('');
  return result.trim();
}

/** The message's text and pictures; undefined when its content does not match its type. */
export function contentOf(message: ReceiveEvent['message']): InboundContent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.content);
  } catch {
    return undefined;
  }
  const mentionKeys = (message.mentions ?? []).map((mention) => mention.key);
  switch (message.message_type) {
    case 'text': {
      const text = textContentSchema.safeParse(parsed);
      return text.success ? { text: withoutMentions(text.data.text, mentionKeys), pictures: [] } : undefined;
    }
    case 'image': {
      const image = imageContentSchema.safeParse(parsed);
      return image.success ? { text: '', pictures: [image.data.image_key] } : undefined;
    }
    case 'post': {
      const post = postBody(parsed);
      if (!post) return undefined;
      const elements = post.content.flat();
      const lines = post.content.map((line) => line.map((element) => (element.tag === 'at' ? '' : element.text ?? '')).join('').trim());
      const text = withoutMentions([post.title ?? '', ...lines].filter((line) => line.trim()).join('\n'), mentionKeys);
      const pictures = elements.flatMap((element) => (element.tag === 'img' && element.image_key ? [element.image_key] : []));
      return { text, pictures };
    }
    default:
      return { text: '', pictures: [], unsupportedType: message.message_type };
  }
}

/** The open_ids a message mentions (the bot answers a group message only when it is one of them). */
export function mentionedOpenIds(message: ReceiveEvent['message']): string[] {
  return (message.mentions ?? []).flatMap((mention) => (mention.id.open_id ? [mention.id.open_id] : []));
}
