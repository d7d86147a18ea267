import type { ImPlatform } from '../chat/service';

/** What a platform plugs into the inbox: how to answer a message and how to send a part. */
export interface ChannelAdapter<P> {
  readonly channel: ImPlatform;
  /** Longest message the platform takes, in characters. */
  readonly messageLimit: number;
  /**
   * How long the platform drops a resent part as a duplicate (Feishu's reply uuid). Past it, a
   * message whose parts may have been sent is given up rather than resent. Absent: the
   * platform has no such key, and a resend may be a copy whenever it happens.
   */
  readonly resendWindowMs?: number;
  /**
   * Whether a message accepted without being sure it is for the bot needs an answer at all,
   * decided in the background (a failure here is retried like a failed send). Absent: always.
   */
  needsAnswer?(payload: P, signal: AbortSignal): Promise<boolean>;
  /** The answer to an inbound message (usually through the chat service). */
  answer(payload: P, signal: AbortSignal): Promise<string>;
  /** Sends one part of the answer; returns the delivery path, for metrics. */
  send(payload: P, text: string, part: number, signal: AbortSignal): Promise<string>;
}
