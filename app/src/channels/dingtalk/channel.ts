import { imSessionId } from '../../chat/service';
import type { GatewayDeps } from '../../deps';
import { answerInbound } from '../answer';
import { sameSecret } from '../../lib/constant-time';
import { type CallbackRequest, Door, type DoorResult, isFresh } from '../door';
import { PlatformError } from '../http';
import type { ChannelAdapter } from '../adapter';
import { Inbox } from '../inbox';
import { waitForSlot } from '../limits';
import type { ChannelMetrics } from '../metrics';
import type { DingtalkSettings } from '../settings';
import { DingtalkApi, type Markdown } from './api';
import { DingtalkEventCrypto, robotSignature } from './crypto';
import { type DingtalkJob, parseRobotMessage } from './message';

/** DingTalk renders markdown messages up to about this many characters. */
export const DINGTALK_MARKDOWN_LIMIT = 3500;
/** A robot may post about 20 messages a minute to one conversation before it is throttled. */
const CONVERSATION_MESSAGES_PER_MINUTE = 20;
/** The session webhook is not used in its last minute: a slow send would land after expiry. */
const WEBHOOK_EXPIRY_MARGIN_MS = 60 * 1000;

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The notification title: the first line of the part, without markdown marks. */
function titleOf(text: string): string {
  const firstLine = text.split('\n').find((line) => line.trim()) ?? '';
  const plain = firstLine.replace(/[#>*_`~[\]()!|-]/g, '').trim();
  return plain.length > 30 ? `${plain.slice(0, 29)}…` : plain || 'Reply';
}

/**
 * The DingTalk channel: verifies robot callbacks and encrypted events, hands robot messages
 * to the inbox, and answers through the session webhook or, once that has expired, the OpenAPI.
 */
export class DingtalkChannel implements ChannelAdapter<DingtalkJob> {
  readonly channel = 'dingtalk' as const;
  readonly messageLimit = DINGTALK_MARKDOWN_LIMIT;
  readonly inbox: Inbox<DingtalkJob>;
  readonly door: Door;
  private readonly api: DingtalkApi;
  private readonly events?: DingtalkEventCrypto;
  private readonly oapiOrigin: string;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly settings: DingtalkSettings,
    private readonly metrics: ChannelMetrics,
  ) {
    this.api = new DingtalkApi(settings);
    this.inbox = new Inbox(this, deps.store, metrics, deps.logs, deps.imInFlight);
    this.door = new Door(this.channel, deps, metrics);
    this.oapiOrigin = new URL(settings.oapiBase).origin;
    const subscription = settings.eventSubscription;
    if (subscription) this.events = new DingtalkEventCrypto(subscription.token, subscription.aesKey, settings.appKey);
  }

  /** POST /api/dingtalk/callback: a signed robot message, or an encrypted event. */
  async handleCallback(request: CallbackRequest): Promise<DoorResult> {
    const query = (request.query ?? {}) as Record<string, unknown>;
    let body: unknown;
    try {
      body = request.rawBody.length ? JSON.parse(request.rawBody.toString('utf8')) : undefined;
    } catch {
      return this.door.refuse('unknown_shape', 'the body is not JSON');
    }
    if (query.msg_signature !== undefined) return this.handleEvent(query, body);
    const timestamp = single(request.headers.timestamp);
    const sign = single(request.headers.sign);
    if (timestamp === undefined && sign === undefined) {
      return this.door.refuse('unknown_shape', 'expected a robot message (timestamp and sign headers) or an event (msg_signature query)');
    }
    if (!timestamp || !sign) return this.door.refuse('bad_signature', 'both the timestamp and the sign header are required');
    if (!isFresh(Number(timestamp), Date.now())) return this.door.refuse('stale_timestamp', 'timestamp is more than an hour away from now');
    if (!sameSecret(sign, robotSignature(timestamp, this.settings.appSecret))) return this.door.refuse('bad_signature', 'sign does not match');
    return this.receive(body);
  }

  /** A robot message whose transport has been verified (signed callback or Stream push). */
  async receive(body: unknown): Promise<DoorResult> {
    const parsed = parseRobotMessage(body, this.oapiOrigin);
    if (!parsed.ok) return this.door.refuse(parsed.reason, parsed.message);
    const { job } = parsed;
    let outcome: string;
    if (!job.content.text && job.content.pictures.length === 0 && !job.content.unsupportedType) {
      outcome = 'ignored'; // an @mention with nothing after it
    } else {
      try {
        outcome = await this.inbox.accept(job.msgId, job.conversationId, job);
      } catch (error) {
        return this.door.storeUnavailable(error);
      }
    }
    this.metrics.events.inc({ channel: this.channel, outcome });
    this.deps.logs.audit.info({ channel: this.channel, msgId: job.msgId, conversation: job.conversationId, outcome }, 'channel message received');
    return { status: 200, body: {}, outcome };
  }

  private handleEvent(query: Record<string, unknown>, body: unknown): DoorResult {
    if (!this.events) return this.door.refuse('not_configured', 'the event subscription needs DINGTALK_AES_KEY and DINGTALK_TOKEN');
    const signature = single(query.msg_signature);
    const timestamp = single(query.timestamp);
    const nonce = single(query.nonce);
    const encrypt = single((body as { encrypt?: unknown } | undefined)?.encrypt);
    if (!signature || !timestamp || !nonce || !encrypt) {
      return this.door.refuse('unknown_shape', 'an event needs msg_signature, timestamp and nonce in the query and encrypt in the body');
    }
    if (!this.events.verify(signature, timestamp, nonce, encrypt)) return this.door.refuse('bad_signature', 'msg_signature does not match');
    let eventType: unknown;
    try {
      eventType = (JSON.parse(this.events.decrypt(encrypt)) as { EventType?: unknown }).EventType;
    } catch (error) {
      return this.door.refuse('bad_encryption', `encrypt: ${(error as Error).message}`);
    }
    this.metrics.events.inc({ channel: this.channel, outcome: 'event' });
    this.deps.logs.audit.info({ channel: this.channel, eventType }, 'channel event received');
    return { status: 200, body: this.events.success(), outcome: 'event' };
  }

  /** Starts the recovery sweep. */
  start(): void {
    this.inbox.start();
  }



  answer(job: DingtalkJob, signal: AbortSignal): Promise<string> {
    return answerInbound(
      this.deps,
      { sessionId: imSessionId('dingtalk', job.conversationId, job.senderId), channel: 'dingtalk', content: job.content, signal },
      (downloadCode, pictureSignal) => this.api.pictureDataUrl(downloadCode, pictureSignal),
    );
  }

  async send(job: DingtalkJob, text: string, part: number, signal: AbortSignal): Promise<string> {
    await waitForSlot(this.deps.store, `dingtalk:conversation:${job.conversationId}`, CONVERSATION_MESSAGES_PER_MINUTE, 60_000, signal);
    const message: Markdown = { title: titleOf(text), text };
    const webhook = job.webhook;
    // The origin was checked on receipt; checked again so a stored record can never redirect a send.
    if (webhook && webhook.expiresAt - WEBHOOK_EXPIRY_MARGIN_MS > Date.now() && new URL(webhook.url).origin === this.oapiOrigin) {
      const mention = job.group && job.senderStaffId && part === 0 ? [job.senderStaffId] : [];
      await this.api.sendWebhook(webhook.url, message, mention, signal);
      return 'webhook';
    }
    if (job.group) {
      await this.api.sendToGroup(job.conversationId, message, signal);
    } else if (job.senderStaffId) {
      await this.api.sendToUser(job.senderStaffId, message, signal);
    } else {
      throw new PlatformError('the session webhook has expired and the sender has no staff id for the OpenAPI', false);
    }
    return 'openapi';
  }
}
