import * as lark from '@larksuiteoapi/node-sdk';
import { imSessionId } from '../../chat/service';
import type { GatewayDeps } from '../../deps';
import { firstProblem } from '../../lib/validation';
import { type InboundContent, answerInbound } from '../answer';
import { sameSecret } from '../../lib/constant-time';
import { type CallbackRequest, Door, type DoorResult, isFresh } from '../door';
import type { ChannelAdapter } from '../adapter';
import { Inbox } from '../inbox';
import { waitForSlot } from '../limits';
import type { ChannelMetrics } from '../metrics';
import type { FeishuSettings } from '../settings';
import { FeishuApi, replyUuid } from './api';
import { type FeishuJob, type ReceiveEvent, contentOf, mentionedOpenIds, receiveEventSchema } from './message';
import { feishuSignature } from './signature';

/** Text messages may carry up to 150 KB; this many characters stays under it even at 4 bytes each. */
export const FEISHU_TEXT_LIMIT = 30_000;
/**
 * Feishu drops a reply whose uuid it saw within the last hour. Resends stop 10 minutes short of
 * that: the margin covers the clocks of replicas and Feishu differing and a part's own retries
 * (at most a minute).
 */
const REPLY_UUID_SAFE_MS = 50 * 60 * 1000;
/** Feishu's send limits: 50 requests a second per app, 5 messages a second per chat. */
const APP_REQUESTS_PER_SECOND = 50;
const CHAT_MESSAGES_PER_SECOND = 5;

function header(headers: CallbackRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The Feishu channel: verifies webhook deliveries (signature over the raw body, timestamp,
 * encryption, verification token), answers url_verification, hands messages for the bot to
 * the inbox, and replies through the SDK.
 */
export class FeishuChannel implements ChannelAdapter<FeishuJob> {
  readonly channel = 'feishu' as const;
  readonly messageLimit = FEISHU_TEXT_LIMIT;
  readonly resendWindowMs = REPLY_UUID_SAFE_MS;
  readonly inbox: Inbox<FeishuJob>;
  readonly door: Door;
  private readonly api: FeishuApi;
  private readonly cipher?: lark.AESCipher;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly settings: FeishuSettings,
    private readonly metrics: ChannelMetrics,
  ) {
    this.api = new FeishuApi(settings, deps.logs.error);
    this.inbox = new Inbox(this, deps.store, metrics, deps.logs, deps.imInFlight);
    this.door = new Door(this.channel, deps, metrics);
    if (settings.encryptKey) this.cipher = new lark.AESCipher(settings.encryptKey);
  }

  /** POST /api/feishu/callback. */
  async handleCallback({ headers, rawBody }: CallbackRequest): Promise<DoorResult> {
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return this.door.refuse('unknown_shape', 'the body is not JSON');
    }
    if (!isObject(body)) return this.door.refuse('unknown_shape', 'the body is not a JSON object');

    const signature = header(headers, 'x-lark-signature');
    const { encryptKey } = this.settings;
    if (encryptKey && signature !== undefined) {
      const timestamp = header(headers, 'x-lark-request-timestamp');
      const nonce = header(headers, 'x-lark-request-nonce');
      if (!timestamp || !nonce) return this.door.refuse('bad_signature', 'X-Lark-Request-Timestamp and X-Lark-Request-Nonce are required');
      if (!isFresh(Number(timestamp) * 1000, Date.now())) return this.door.refuse('stale_timestamp', 'X-Lark-Request-Timestamp is more than an hour away from now');
      if (!sameSecret(signature, feishuSignature(timestamp, nonce, encryptKey, rawBody))) return this.door.refuse('bad_signature', 'X-Lark-Signature does not match');
    }

    if ('encrypt' in body) {
      if (!this.cipher) return this.door.refuse('bad_encryption', 'the body is encrypted but FEISHU_ENCRYPT_KEY is not set');
      try {
        body = JSON.parse(this.cipher.decrypt(String(body.encrypt)));
      } catch {
        return this.door.refuse('bad_encryption', 'encrypt could not be decrypted with FEISHU_ENCRYPT_KEY');
      }
      if (!isObject(body)) return this.door.refuse('bad_encryption', 'encrypt does not hold a JSON object');
    }

    if (body.type === 'url_verification') {
      if (!this.tokenMatches(body.token)) return this.door.refuse('wrong_token', 'token does not match FEISHU_VERIFICATION_TOKEN');
      this.metrics.events.inc({ channel: this.channel, outcome: 'url_verification' });
      return { status: 200, body: { challenge: body.challenge }, outcome: 'url_verification' };
    }
    // With an encrypt key set, Feishu signs every event; only the URL check may come unsigned.
    if (encryptKey && signature === undefined) return this.door.refuse('bad_signature', 'X-Lark-Signature is required');

    const eventHeader = body.header;
    if (body.schema !== '2.0' || !isObject(eventHeader) || typeof eventHeader.event_id !== 'string' || !eventHeader.event_id) {
      return this.door.refuse('unknown_shape', 'expected an event of subscription version 2.0 (schema, header.event_id)');
    }
    if (!this.tokenMatches(eventHeader.token)) return this.door.refuse('wrong_token', 'header.token does not match FEISHU_VERIFICATION_TOKEN');
    return this.receiveEvent(String(eventHeader.event_type), eventHeader.event_id, body.event);
  }

  private tokenMatches(token: unknown): boolean {
    const expected = this.settings.verificationToken;
    return expected !== undefined && typeof token === 'string' && sameSecret(token, expected);
  }

  /** A verified event, from the webhook or the long connection. */
  async receiveEvent(eventType: string, eventId: string, event: unknown): Promise<DoorResult> {
    if (eventType !== 'im.message.receive_v1') {
      this.metrics.events.inc({ channel: this.channel, outcome: 'event' });
      this.deps.logs.audit.info({ channel: this.channel, eventType, eventId }, 'channel event received');
      return { status: 200, body: {}, outcome: 'event' };
    }
    const parsed = receiveEventSchema.safeParse(event);
    if (!parsed.success) {
      const { field, message } = firstProblem(parsed.error);
      return this.door.refuse('unknown_shape', `im.message.receive_v1: event.${field}: ${message}`);
    }
    const { sender, message } = parsed.data;
    const content = contentOf(message);
    if (!content) return this.door.refuse('unknown_shape', `im.message.receive_v1: content does not match message_type ${message.message_type}`);

    let outcome = 'ignored';
    const hasContent = content.text || content.pictures.length > 0 || content.unsupportedType;
    const job = sender.sender_type === 'user' && hasContent ? this.jobFor(message, sender.sender_id.open_id, content) : undefined;
    if (job) {
      try {
        outcome = await this.inbox.accept(eventId, message.chat_id, job);
      } catch (error) {
        return this.door.storeUnavailable(error);
      }
    }
    this.metrics.events.inc({ channel: this.channel, outcome });
    this.deps.logs.audit.info({ channel: this.channel, eventId, chat: message.chat_id, outcome }, 'channel message received');
    return { status: 200, body: {}, outcome };
  }

  /**
   * The job for a message the bot may have to answer; undefined when it certainly need not (a
   * group message that mentions nobody, or others but not the bot). Every one-to-one message is
   * for the bot. Whether a group message mentions it is decided here when the bot's open_id is
   * known, else by the worker (needsAnswer): the acknowledgement never waits for Feishu.
   */
  private jobFor(message: ReceiveEvent['message'], senderOpenId: string, content: InboundContent): FeishuJob | undefined {
    const job: FeishuJob = { messageId: message.message_id, chatId: message.chat_id, senderOpenId, content };
    if (message.chat_type === 'p2p') return job;
    const mentions = mentionedOpenIds(message);
    if (mentions.length === 0) return undefined;
    const botOpenId = this.api.cachedBotOpenId();
    if (botOpenId === undefined) return { ...job, mentions };
    return mentions.includes(botOpenId) ? job : undefined;
  }

  async needsAnswer(job: FeishuJob): Promise<boolean> {
    return job.mentions === undefined || job.mentions.includes(await this.api.botOpenId());
  }

  /** Starts the recovery sweep, and looks the bot's identity up before the first group message needs it. */
  start(): void {
    this.inbox.start();
    this.api.botOpenId().catch(() => undefined);
  }



  answer(job: FeishuJob, signal: AbortSignal): Promise<string> {
    return answerInbound(
      this.deps,
      { sessionId: imSessionId('feishu', job.chatId, job.senderOpenId), channel: 'feishu', content: job.content, signal },
      (imageKey, pictureSignal) => this.api.imageDataUrl(job.messageId, imageKey, pictureSignal),
    );
  }

  async send(job: FeishuJob, text: string, part: number, signal: AbortSignal): Promise<string> {
    await waitForSlot(this.deps.store, 'feishu:app', APP_REQUESTS_PER_SECOND, 1000, signal);
    await waitForSlot(this.deps.store, `feishu:chat:${job.chatId}`, CHAT_MESSAGES_PER_SECOND, 1000, signal);
    await this.api.reply(job.messageId, text, replyUuid(job.messageId, part), signal);
    return 'reply';
  }
}
