import type { Store } from '../store/store';
import { textOf, type ChatMessage } from '../models/types';
import type { Turn } from './service';

/** A session keeps its newest messages (10 exchanges) ... */
export const SESSION_MAX_MESSAGES = 20;
/** ... for a day after its last turn. */
export const SESSION_TTL_SECONDS = 24 * 3600;

/** The part of a turn that says which session it is. */
export type SessionRef = Pick<Turn, 'sessionId' | 'principal'>;

/** The store key of a session: an API key's sessions live under its principal id. */
export const sessionKey = ({ sessionId, principal }: SessionRef) => (principal ? `session:${principal}:${sessionId}` : `session:${sessionId}`);

/** Session history in the store: bounded in length, expiring when idle. */
export class SessionHistory {
  constructor(private readonly store: Store) {}

  async load(session: SessionRef): Promise<ChatMessage[]> {
    const items = await this.store.readList(sessionKey(session));
    return items.flatMap((item) => {
      try {
        return [JSON.parse(item) as ChatMessage];
      } catch {
        return [];
      }
    });
  }

  /**
   * Stores one exchange in one store call, so the two halves of concurrent turns never
   * interleave. Pictures are kept as a placeholder so history stays small.
   */
  async append(session: SessionRef, user: ChatMessage, assistant: ChatMessage): Promise<void> {
    const items = [user, assistant].map((message) => {
      const content = typeof message.content === 'string' || message.content.every((p) => p.type === 'text')
        ? textOf(message.content)
        : `${textOf(message.content)}\n[image]`.trim();
      return JSON.stringify({ role: message.role, content });
    });
    await this.store.appendToList(sessionKey(session), items, SESSION_MAX_MESSAGES, SESSION_TTL_SECONDS);
  }
}
