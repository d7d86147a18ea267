import type { ChatService, Channel } from '../chat/service';
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
/** Pictures larger than this are not passed to the model. */
export const MAX_PICTURE_BYTES = 10 * 1024 * 1024;

export function dataUrl(bytes: Buffer, contentType = 'image/png'): string {
  return `data:${contentType};base64,${bytes.toString('base64')}`;
}

/**
 * Answers one IM message through the chat service (session memory, routing, cache). Pictures go
 * to a vision-capable model as data URLs; other models get a plain notice instead.
 */
export async function answerInbound(
  deps: { chat: ChatService; models: ModelManager },
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
