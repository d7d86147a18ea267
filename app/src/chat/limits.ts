import { InputError } from '../lib/errors';
import { textOf, type ChatMessage } from '../models/types';

/** How much text one message may carry and how much conversation one model call may see. */
export interface MessageLimits {
  /** Characters (as JavaScript counts them) of one message's text; pictures count nothing. */
  maxMessageChars: number;
  /** Characters of all the messages sent to the model in one call, system prompt included. */
  maxHistoryChars: number;
}

const charsOf = (message: ChatMessage) => textOf(message.content).length;

/** Refuses a message longer than the limit with a 400 that names `param`. */
export function checkMessageSize(message: ChatMessage, limit: number, param: string): void {
  const chars = charsOf(message);
  if (chars > limit) {
    throw new InputError(`${param} has ${chars} characters; at most ${limit} are accepted (MAX_MESSAGE_CHARS)`, param, 'message_too_long');
  }
}

/**
 * The conversation cut to `limit` characters: the oldest messages go first, system messages
 * and the newest message always stay. A cut never leaves the conversation opening with an
 * assistant message, which Anthropic refuses, nor with the results of tool calls it cut, which
 * every provider refuses.
 */
export function trimHistory(messages: ChatMessage[], limit: number): ChatMessage[] {
  let total = messages.reduce((sum, message) => sum + charsOf(message), 0);
  if (total <= limit) return messages;
  const kept = messages.slice(0, -1);
  let index = 0;
  while (total > limit && index < kept.length) {
    if (kept[index].role === 'system') index++;
    else total -= charsOf(kept.splice(index, 1)[0]);
  }
  while (kept[index]?.role === 'assistant' || kept[index]?.role === 'tool') kept.splice(index, 1);
  return [...kept, messages[messages.length - 1]];
}
