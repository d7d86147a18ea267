import type { ImPlatform } from '../chat/service';
import type { GatewayDeps } from '../deps';
import { errorBody } from '../lib/errors';
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

export function isFresh(timestampMs: number, now: number): boolean {
  return Number.isFinite(timestampMs) && Math.abs(now - timestampMs) <= MAX_CLOCK_SKEW_MS;
}

/**
 * A channel's door: how its deliveries (callbacks and long-connection pushes) are refused,
 * turned away when the store is down, and timed to their acknowledgement; each counted, and
 * refusals audited. Error answers are OpenAI-style like every other.
 */
export class Door {
  constructor(
    private readonly channel: ImPlatform,
    private readonly deps: Pick<GatewayDeps, 'logs'>,
    private readonly metrics: ChannelMetrics,
  ) {}

  refuse(reason: RefusalReason, message: string): DoorResult {
    this.metrics.refused.inc({ channel: this.channel, outcome: reason });
    this.deps.logs.audit.warn({ channel: this.channel, reason, detail: message }, 'channel callback refused');
    const status = REFUSAL_STATUS[reason];
    return { status, body: errorBody(status, message, reason), outcome: 'refused' };
  }

  /** The store could not record the delivery: it is not acknowledged, so the platform delivers it again. */
  storeUnavailable(error: unknown): DoorResult {
    this.metrics.failures.inc({ channel: this.channel, outcome: 'store' });
    this.deps.logs.error.error({ err: error, channel: this.channel }, 'channel could not take a delivery; the platform will retry');
    const message = 'the message could not be taken (store unavailable); deliver it again later';
    return { status: 503, body: errorBody(503, message, 'store_unavailable'), outcome: 'unavailable' };
  }

  /** Resolves once the audit lines of the deliveries so far are on disk: acknowledge only after. */
  audited(): Promise<void> {
    return this.deps.logs.auditWritten();
  }

  /** Records how long a delivery took to acknowledge. */
  observeAck(outcome: string, seconds: number): void {
    this.metrics.ackDuration.observe({ channel: this.channel, outcome }, seconds);
  }
}
