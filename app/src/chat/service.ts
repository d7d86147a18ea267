import type { ChatMessage, CompletionResult, MessageContent, ModelDescriptor } from '../models/types';

/** Where a conversation turn came from; recorded with every exchange. */
export type Channel = 'api' | 'web' | 'tui' | 'dingtalk' | 'feishu';

export interface Turn {
  /** Session key. IM channels use `<platform>:<conversation>:<sender>`. */
  sessionId: string;
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
}

export interface CompletionOptions {
  maxTokens?: number;
  temperature?: number;
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
  /** Stateless OpenAI-style completion: the caller sends the whole history. */
  complete(
    messages: ChatMessage[],
    options?: CompletionOptions,
  ): Promise<{ text: string; model: ModelDescriptor; usage?: CompletionResult['usage'] }>;
  completeStream(messages: ChatMessage[], options?: CompletionOptions): TextStream;
}
