import crypto from 'node:crypto';
import type { GatewayDeps } from '../deps';
import type { ImPlatform } from '../chat/service';
import type { ChannelMetrics } from './metrics';

/** A callback request as the channels see it: the body exactly as received. */
export interface CallbackRequest {
  headers: Record<string, string | string[] | undefined>;
  query: unknown;
  rawBody: Buffer;
}

/** What a callback answers, and the outcome it is counted under. */
export interface DoorResult {
  status: number;
  body: unknown;
  outcome: string;
}

/** Why a delivery was refused; each is a label value of the refused counter. */
export type RefusalReason =
  | 'bad_signature'
  | 'stale_timestamp'
  | 'wrong_token'
  | 'unknown_shape'
  | 'foreign_webhook'
  | 'bad_encryption'
  | 'not_configured';

const REFUSAL_STATUS: Record<RefusalReason, number> = {
  bad_signature: 401,
  stale_timestamp: 401,
  wrong_token: 401,
  unknown_shape: 400,
  foreign_webhook: 400,
  bad_encryption: 400,
  not_configured: 404,
};

/** Timestamps further than this from our clock are refused (DingTalk documents one hour). */
export const MAX_CLOCK_SKEW_MS = 60 * 60 * 1000;

/** Counts and audits a refused delivery and builds its OpenAI-style error answer. */
export function refuse(
  channel: ImPlatform,
  reason: RefusalReason,
  message: string,
  deps: Pick<GatewayDeps, 'logs'>,
  metrics: ChannelMetrics,
): DoorResult {
  metrics.refused.inc({ channel, outcome: reason });
  deps.logs.audit.warn({ channel, reason, detail: message }, 'channel callback refused');
  const status = REFUSAL_STATUS[reason];
  return {
    status,
    body: { error: { message, type: status === 401 ? 'authentication_error' : 'invalid_request_error', code: reason } },
    outcome: 'refused',
  };
}

/**
 * Something the door depends on (the store, the bot's identity) failed: the delivery is not
 * acknowledged, so the platform delivers it again later.
 */
export function unavailable(
  channel: ImPlatform,
  what: 'store',
  error: unknown,
  deps: Pick<GatewayDeps, 'logs'>,
  metrics: ChannelMetrics,
): DoorResult {
  metrics.failures.inc({ channel, outcome: what });
  deps.logs.error.error({ err: error, channel, what }, 'channel could not take a delivery; the platform will retry');
  return {
    status: 503,
    body: { error: { message: `the message could not be taken (${what} unavailable); deliver it again later`, type: 'server_error', code: `${what}_unavailable` } },
    outcome: 'unavailable',
  };
}

export function isFresh(timestampMs: number, now: number): boolean {
  return Number.isFinite(timestampMs) && Math.abs(now - timestampMs) <= MAX_CLOCK_SKEW_MS;
}

/** Constant-time comparison of two signatures or tokens. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}
