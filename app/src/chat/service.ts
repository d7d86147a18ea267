import type { AnswerEnding, ChatMessage, MessageContent, ModelDescriptor, Sampling, Tools } from '../models/types';

/** The IM platforms. Their sessions belong to people there, never to an API client. */
export const IM_PLATFORMS = ['dingtalk', 'feishu'] as const;
export type ImPlatform = (typeof IM_PLATFORMS)[number];

/** Where a conversation turn came from; recorded with every exchange. */
export type Channel = 'api' | 'web' | 'tui' | ImPlatform;

/** The session of one person in one IM conversation: `<platform>:<conversation>:<sender>`. */
export function imSessionId(platform: ImPlatform, conversation: string, sender: string): string {
  return `${platform}:${conversation}:${sender}`;
}

/** Whether a session id is in an IM platform's namespace (`dingtalk:…`, `feishu:…`). */
export function isImSessionId(sessionId: string): boolean {
  return IM_PLATFORMS.some((platform) => sessionId.startsWith(`${platform}:`));
}

export interface Turn {
  /** The session's id as its client names it. IM channels use imSessionId(). */
  sessionId: string;
  /**
   * Whose session it is: the API key's id (a digest, never the key) for /api/chat turns, so that
   * another key naming the same sessionId gets a session of its own. Absent for IM turns, whose
   * session id already names the person.
   */
  principal?: string;
  channel: Channel;
  message: MessageContent;
  signal?: AbortSignal;
}

export interface TurnReply {
  sessionId: string;
  reply: string;
  model: ModelDescriptor;
}

/** Text deltas, and the model that produces them (known before the first delta). */
export interface TextStream extends AsyncIterable<string> {
  readonly model: ModelDescriptor;
  /** Once the stream has ended: why, its tool calls, and the usage (none for rules or cache answers). */
  readonly ending?: AnswerEnding;
}

/** A stateless completion's answer: its text and how it ended. */
export interface CompletionAnswer extends AnswerEnding {
  text: string;
  model: ModelDescriptor;
}

export interface CompletionOptions {
  maxTokens?: number;
  temperature?: number;
  sampling?: Sampling;
  tools?: Tools;
  /** The client's end-user id (OpenAI's `user`). */
  endUser?: string;
  /** Streams: have the model report its usage (TextStream.usage). */
  streamUsage?: boolean;
  signal?: AbortSignal;
}

/**
 * The conversation logic behind every entry point (REST, web page, TUI, DingTalk, Feishu):
 * session memory, hybrid routing between the rules engine and the LLM, the response cache,
 * and the conversation log. Plain module, testable without HTTP.
 */
export interface ChatService {
  /** One turn of a session: loads its history, answers, and stores both sides. */
  reply(turn: Turn): Promise<TurnReply>;
  /** As reply(), yielding text deltas; the session is updated when the stream ends. */
  replyStream(turn: Turn): TextStream;
  /**
   * Logs an exchange the gateway answered itself, without asking a model (an IM notice that a
   * message cannot be read), so that the conversation log holds every reply. Session history
   * is left alone. Resolves once the record is written: send the notice after that.
   */
  logNotice(turn: Omit<Turn, 'signal'>, reply: string): Promise<void>;
  /** Stateless OpenAI-style completion: the caller sends the whole history. */
  complete(messages: ChatMessage[], options?: CompletionOptions): Promise<CompletionAnswer>;
  completeStream(messages: ChatMessage[], options?: CompletionOptions): TextStream;
}
