import type { ChatService, Channel } from '../chat/service';
import type { Settings } from '../lib/config';
import type { ModelManager } from '../models/manager';
import type { ImagePart, TextPart } from '../models/types';

/** An inbound IM message, reduced to what the model sees. */
export interface InboundContent {
  text: string;
  /** Platform references to pictures (download codes, image keys). */
  pictures: string[];
  /** Set for message types the bot does not read (voice, files ...). */
  unsupportedType?: string;
}

export const NO_VISION_REPLY =
  'The current model cannot read pictures. Please describe the picture in words, or ask an admin to switch to a vision-capable model.';
export const NO_VISION_NOTE = '(The current model cannot read pictures, so I only read your text.)';
export const UNSUPPORTED_REPLY = 'I can read text and pictures only.';
/** Said to a message over MAX_MESSAGE_CHARS, in English and Chinese: the channels do not know the user's language. */
export function tooLongReply(chars: number, limit: number): string {
  return (
    `Your message is too long (${chars} characters); I can read at most ${limit}. Please shorten it or send it in parts.\n` +
    `您的消息太长（${chars} 个字符），最多可读 ${limit} 个字符。请缩短后或分几条发送。`
  );
}
/** Pictures larger than this are not passed to the model. */
export const MAX_PICTURE_BYTES = 10 * 1024 * 1024;

export function dataUrl(bytes: Buffer, contentType = 'image/png'): string {
  return `data:${contentType};base64,${bytes.toString('base64')}`;
}

/**
 * Answers one IM message through the chat service (session memory, routing, cache). Pictures go
 * to a vision-capable model as data URLs; other models get a plain notice instead, and so does
 * a text over MAX_MESSAGE_CHARS (the chat service would refuse it).
 */
export async function answerInbound(
  deps: { chat: ChatService; models: ModelManager; settings: Pick<Settings, 'limits'> },
  turn: { sessionId: string; channel: Channel; content: InboundContent; signal: AbortSignal },
  loadPicture: (ref: string, signal: AbortSignal) => Promise<string>,
): Promise<string> {
  const { content, signal } = turn;
  // Said by the gateway itself, and logged like every other answer.
  const notice = async (reply: string, message: string) => {
    await deps.chat.logNotice({ sessionId: turn.sessionId, channel: turn.channel, message }, reply);
    return reply;
  };
  if (content.unsupportedType) return notice(UNSUPPORTED_REPLY, `[${content.unsupportedType}]`);
  const { maxMessageChars } = deps.settings.limits;
  if (content.text.length > maxMessageChars) {
    return notice(tooLongReply(content.text.length, maxMessageChars), `[${content.text.length} characters, over MAX_MESSAGE_CHARS]`);
  }
  const ask = async (message: string | Array<TextPart | ImagePart>) => {
    const { reply } = await deps.chat.reply({ sessionId: turn.sessionId, channel: turn.channel, message, signal });
    if (!reply.trim()) throw new Error('the model returned an empty answer');
    return reply;
  };
  if (content.pictures.length === 0) return ask(content.text);
  if (!deps.models.current().supportsVision) {
    return content.text ? `${await ask(content.text)}\n\n${NO_VISION_NOTE}` : notice(NO_VISION_REPLY, '[image]');
  }
  const images = await Promise.all(content.pictures.map((ref) => loadPicture(ref, signal)));
  const parts: Array<TextPart | ImagePart> = content.text ? [{ type: 'text', text: content.text }] : [];
  for (const url of images) parts.push({ type: 'image', url });
  return ask(parts);
}
