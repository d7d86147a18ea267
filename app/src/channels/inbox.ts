import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { ImPlatform } from '../chat/service';
import type { Store } from '../store/store';
import type { ChannelAdapter } from './adapter';
import { ConversationQueues } from './conversation-queues';
import type { MessagesInFlight } from './in-flight';
import type { ChannelMetrics } from './metrics';
import { PlatformError } from './http';
import { splitMessage } from './split';

/** A message's record in the store, under its dedup key, from first delivery until 8 h later. */
interface JobRecord<P> {
  state: 'pending' | 'done' | 'failed';
  conversation: string;
  payload?: P;
  /** The answer, split; saved before the first part is sent so a retry resends nothing. */
  parts?: string[];
  /** When `parts` was saved (ms): no part went out before, so resends are timed from it. */
  answeredAt?: number;
  sent: number;
  attempts: number;
}

/** Both platforms retry for up to about 7 h (Feishu: 15 s, 5 min, 1 h, 6 h); dedup outlives that. */
export const DEDUP_TTL_SECONDS = 8 * 60 * 60;
/**
 * A worker holds a lease while it handles a message, renewed every third of this (so two missed
 * renewals, e.g. a Redis hiccup, do not lose it). With the sweep below, a message whose worker
 * died is resumed within 15 s: no later than Feishu's first redelivery of an unacknowledged
 * event, and long before the platforms' later retries.
 */
export const LEASE_TTL_SECONDS = 10;
/** How often every replica looks for unfinished messages whose lease has lapsed. */
export const SWEEP_INTERVAL_SECONDS = 5;
/**
 * After a failed attempt the worker keeps the lease this long, unrenewed, so that the
 * MAX_ATTEMPTS attempts span about five minutes of a platform outage, not one sweep's worth.
 */
export const RETRY_DELAY_SECONDS = 60;
/** Attempts at delivering before a message is given up (each attempt retries internally). */
export const MAX_ATTEMPTS = 5;

/** Said instead of an answer when the model (or a picture download) failed. */
export const APOLOGY = 'Sorry, I could not answer that just now. Please try again in a moment.';

/**
 * Exactly-once handling of inbound IM messages:
 * - The first delivery of a message id writes its record with setIfAbsent (8 h TTL) before it is
 *   acknowledged; later deliveries find the record and are dropped as duplicates.
 * - The worker holds a short, renewed lease. The record keeps the answer and how many parts went
 *   out, so if the process dies, a platform retry or the periodic recovery sweep (any replica)
 *   takes the lease over once it lapses and sends only what is missing.
 * - Messages of one conversation are handled one after another, in arrival order.
 */
export class Inbox<P> {
  private readonly owner = crypto.randomUUID();
  /** Jobs this process holds, by dedup key. */
  private readonly queues = new ConversationQueues();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly adapter: ChannelAdapter<P>,
    private readonly store: Store,
    private readonly metrics: ChannelMetrics,
    private readonly logs: { error: Logger; audit: Logger },
    private readonly inFlight: MessagesInFlight,
  ) {}

  private get channel(): ImPlatform {
    return this.adapter.channel;
  }

  private key(id: string): string {
    return `dedup:${this.channel}:${id}`;
  }

  private leaseKey(key: string): string {
    return `lease:${key}`;
  }

  /**
   * The dedup keys of the messages not finished yet: what the recovery sweep looks at. A key
   * leaves when its message is answered or given up, so no number of finished messages can
   * push an unfinished one out.
   */
  private get unfinished(): string {
    return `unfinished:${this.channel}`;
  }

  /**
   * Records a verified delivery and queues it. Resolves once the record is durable, so the caller
   * may acknowledge; rejects when the store is unusable, so the caller must not.
   */
  async accept(id: string, conversation: string, payload: P): Promise<'accepted' | 'duplicate'> {
    const key = this.key(id);
    const record: JobRecord<P> = { state: 'pending', conversation, payload, sent: 0, attempts: 0 };
    if (await this.store.setIfAbsent(key, JSON.stringify(record), DEDUP_TTL_SECONDS)) {
      try {
        await this.store.addToSet(this.unfinished, key);
      } catch (error) {
        // Unindexed, the sweep would never find it: forget it so the platform's retry starts afresh.
        await this.store.delete(key).catch(() => undefined);
        throw error;
      }
      // Should this fail, the record is indexed and unleased: a retry or the sweep takes it over.
      await this.store.set(this.leaseKey(key), this.owner, LEASE_TTL_SECONDS);
      this.enqueue(key, record);
      return 'accepted';
    }
    // Seen before. Still pending and nobody holding it means its worker died: take it over.
    return (await this.takeOver(key)) ? 'accepted' : 'duplicate';
  }

  private async takeOver(key: string): Promise<boolean> {
    if (this.queues.has(key)) return false;
    const record = await this.read(key);
    if (record?.state !== 'pending') return false;
    if (!(await this.store.setIfAbsent(this.leaseKey(key), this.owner, LEASE_TTL_SECONDS))) return false;
    this.logs.audit.info({ channel: this.channel, key, sent: record.sent }, 'channel message resumed');
    this.enqueue(key, record);
    return true;
  }

  /** Resumes every unfinished message whose worker is gone. */
  async recover(): Promise<void> {
    for (const key of await this.store.setMembers(this.unfinished)) {
      if (this.queues.has(key)) continue;
      // Its record expired unanswered (8 h of failures): nothing is left to resume.
      if ((await this.read(key)) === undefined) await this.store.removeFromSet(this.unfinished, key);
      else await this.takeOver(key);
    }
  }

  /** Starts lease renewal and the recovery sweep (which also runs once now). */
  start(): void {
    const sweep = () => this.recover().catch((error) => this.logs.error.error({ err: error, channel: this.channel }, 'channel recovery sweep failed'));
    const renew = () => {
      for (const key of this.queues.keys()) {
        this.store.set(this.leaseKey(key), this.owner, LEASE_TTL_SECONDS).catch((error) => {
          this.logs.error.error({ err: error, channel: this.channel }, 'channel lease renewal failed');
        });
      }
    };
    this.timers = [setInterval(renew, (LEASE_TTL_SECONDS * 1000) / 3).unref(), setInterval(sweep, SWEEP_INTERVAL_SECONDS * 1000).unref()];
    void sweep();
  }

  /**
   * Lets queued work finish for up to `graceMs`, then aborts the rest and hands it back
   * (lease released, record kept) for the next process or replica to resume.
   */
  async close(graceMs: number): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.queues.close(graceMs);
  }

  /** Resolves when everything queued so far has been handled (tests, shutdown). */
  idle(): Promise<void> {
    return this.queues.idle();
  }

  private enqueue(key: string, record: JobRecord<P>): void {
    this.inFlight.started();
    this.queues.add(
      key,
      record.conversation,
      (signal) => this.process(key, record, signal).finally(() => this.inFlight.finished()),
      (error) => this.logs.error.error({ err: error, channel: this.channel, key }, 'channel message handling failed'),
    );
  }

  private async read(key: string): Promise<JobRecord<P> | undefined> {
    const raw = await this.store.get(key);
    return raw ? (JSON.parse(raw) as JobRecord<P>) : undefined;
  }

  private async save(key: string, record: JobRecord<P>): Promise<void> {
    await this.store.set(key, JSON.stringify(record), DEDUP_TTL_SECONDS);
  }

  private async process(key: string, record: JobRecord<P>, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return this.release(key);
    const payload = record.payload as P;
    try {
      if (!record.parts) {
        if (this.adapter.needsAnswer && !(await this.adapter.needsAnswer(payload, signal))) {
          await this.finish(key, record, 'done');
          this.logs.audit.info({ channel: this.channel, key }, 'channel message not for the bot');
          return;
        }
        record.parts = splitMessage(await this.answer(payload, signal), this.adapter.messageLimit);
        record.answeredAt = Date.now();
        await this.save(key, record);
      } else if (this.pastResendWindow(record)) {
        await this.finish(key, record, 'failed');
        this.metrics.failures.inc({ channel: this.channel, outcome: 'abandoned' });
        this.logs.audit.warn(
          { channel: this.channel, key, sent: record.sent, parts: record.parts.length, answeredAt: new Date(record.answeredAt as number).toISOString() },
          'channel message abandoned: a resend could show a part twice',
        );
        return;
      }
      let path = '';
      for (let part = record.sent; part < record.parts.length; part++) {
        path = await this.adapter.send(payload, record.parts[part], part, signal);
        record.sent = part + 1;
        await this.save(key, record);
      }
      await this.finish(key, record, 'done');
      this.metrics.replies.inc({ channel: this.channel, outcome: path });
      this.logs.audit.info({ channel: this.channel, key, parts: record.parts.length, path }, 'channel message answered');
    } catch (error) {
      if (signal.aborted) return this.release(key);
      record.attempts += 1;
      const giveUp = (error instanceof PlatformError && !error.retryable) || record.attempts >= MAX_ATTEMPTS;
      this.logs.error.error({ err: error, channel: this.channel, key, attempts: record.attempts, giveUp }, 'channel reply failed');
      if (giveUp) {
        await this.finish(key, record, 'failed');
        this.metrics.failures.inc({ channel: this.channel, outcome: 'send' });
        this.logs.audit.warn({ channel: this.channel, key, attempts: record.attempts }, 'channel message given up');
        return;
      }
      // Left pending: the recovery sweep tries again once this lease lapses.
      await this.save(key, record);
      await this.store.set(this.leaseKey(key), this.owner, RETRY_DELAY_SECONDS);
    }
  }

  /**
   * Whether the platform may no longer recognise a resent part: the answer was saved longer ago
   * than its resend window, so an earlier attempt at the next part may have reached the user.
   * Records saved before answeredAt existed are resumed as before.
   */
  private pastResendWindow(record: JobRecord<P>): boolean {
    const window = this.adapter.resendWindowMs;
    return window !== undefined && record.answeredAt !== undefined && Date.now() - record.answeredAt >= window;
  }

  private async answer(payload: P, signal: AbortSignal): Promise<string> {
    try {
      return await this.adapter.answer(payload, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      this.logs.error.error({ err: error, channel: this.channel }, 'channel answer failed; sending an apology');
      this.metrics.failures.inc({ channel: this.channel, outcome: 'answer' });
      return APOLOGY;
    }
  }

  private async finish(key: string, record: JobRecord<P>, state: 'done' | 'failed'): Promise<void> {
    // The payload and answer are dropped; the marker stays to refuse late retries.
    await this.save(key, { state, conversation: record.conversation, sent: record.sent, attempts: record.attempts });
    await this.store.removeFromSet(this.unfinished, key);
    await this.store.delete(this.leaseKey(key));
  }

  private async release(key: string): Promise<void> {
    await this.store.delete(this.leaseKey(key));
  }
}
