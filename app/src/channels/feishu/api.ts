import crypto from 'node:crypto';
import * as lark from '@larksuiteoapi/node-sdk';
import axios, { type AxiosResponse } from 'axios';
import type { Logger } from 'pino';
import { MAX_PICTURE_BYTES, dataUrl } from '../answer';
import { PLATFORM_REQUEST_TIMEOUT_MS, PlatformError, withRetries } from '../http';
import type { FeishuSettings } from '../settings';

/** The tenant_access_token was revoked or expired early: drop it and fetch a new one. */
export const INVALID_TOKEN_CODE = 99991663;
/** 99991400: the app's request rate; 230020: the chat's message rate. */
const FREQUENCY_LIMIT_CODES = new Set([99991400, 230020]);

/** The SDK keys its token with a symbol. */
type CacheKey = Parameters<lark.Cache['get']>[0];

/**
 * The SDK's token cache, kept by this process. The SDK stores the tenant_access_token here with
 * an expiry three minutes before Feishu's (so it refreshes early); clear() is how a token
 * refused with 99991663 is dropped, which the SDK itself does not do.
 */
export class TenantTokenCache implements lark.Cache {
  private readonly values = new Map<string, { value: unknown; expiresAt?: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private static key(key: CacheKey, namespace?: string): string {
    return `${namespace ?? ''}/${String(key)}`;
  }

  async get(key: CacheKey, options?: { namespace?: string }): Promise<unknown> {
    const cacheKey = TenantTokenCache.key(key, options?.namespace);
    const entry = this.values.get(cacheKey);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.values.delete(cacheKey);
      return undefined;
    }
    return entry?.value;
  }

  async set(key: CacheKey, value: unknown, expiresAt?: number, options?: { namespace?: string }): Promise<boolean> {
    this.values.set(TenantTokenCache.key(key, options?.namespace), { value, expiresAt });
    return true;
  }

  clear(): void {
    this.values.clear();
  }
}

/** Only an error's message, HTTP status and Feishu code: SDK errors carry request bodies and tokens. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(describe).filter(Boolean).join(' ');
  if (value && typeof value === 'object') {
    const { message, response } = value as { message?: unknown; response?: { status?: unknown; data?: { code?: unknown; msg?: unknown } } };
    const parts = [typeof message === 'string' ? message : ''];
    if (response?.status !== undefined) parts.push(`HTTP ${String(response.status)}`);
    if (response?.data?.code !== undefined) parts.push(`code ${String(response.data.code)} ${String(response.data.msg ?? '')}`);
    return parts.filter(Boolean).join(' ');
  }
  return '';
}

/** The SDK's logger interface over pino, with everything but error summaries left out. */
export function sdkLogger(logger: Logger): lark.Logger {
  const at = (level: 'error' | 'warn' | 'info' | 'debug' | 'trace') => (...args: unknown[]) =>
    logger[level]({ channel: 'feishu', source: 'lark-sdk' }, describe(args));
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
}

/** Like the SDK's default transport (responses unwrapped to their data), with a timeout. */
export function sdkHttpInstance(): lark.HttpInstance {
  const http = axios.create({ timeout: PLATFORM_REQUEST_TIMEOUT_MS });
  http.interceptors.response.use((response: AxiosResponse) =>
    (response.config as { $return_headers?: boolean }).$return_headers ? { data: response.data, headers: response.headers } : response.data,
  );
  return http as unknown as lark.HttpInstance;
}

/**
 * The idempotency key of one part of the reply to a message: the same for every attempt at that
 * part, from any process. Hashed to a fixed 32 characters (Feishu takes at most 50).
 */
export function replyUuid(messageId: string, part: number): string {
  return crypto.createHash('sha256').update(`${messageId}:${part}`).digest('hex').slice(0, 32);
}

interface FeishuReply {
  code?: number;
  msg?: string;
}

/** Feishu's outbound side through the official SDK: replies, the bot's identity, pictures. */
export class FeishuApi {
  readonly tokens: TenantTokenCache;
  readonly client: lark.Client;
  /** The lookup in flight, if any. */
  private botIdentity?: Promise<string>;
  /** The bot's open_id once known: it never changes for an app. */
  private knownBotOpenId?: string;

  constructor(
    settings: FeishuSettings,
    private readonly logger: Logger,
    now: () => number = Date.now,
  ) {
    this.tokens = new TenantTokenCache(now);
    this.client = new lark.Client({
      appId: settings.appId,
      appSecret: settings.appSecret,
      domain: settings.apiBase,
      cache: this.tokens,
      httpInstance: sdkHttpInstance(),
      logger: sdkLogger(logger),
      loggerLevel: lark.LoggerLevel.warn,
    });
  }

  /**
   * Makes one SDK call and turns Feishu's failures into PlatformErrors (retryable for rate
   * limits, 5xx and network trouble). A token refused with 99991663 is dropped and the call
   * made once more with a fresh one.
   */
  private async call<T extends FeishuReply>(what: string, operation: () => Promise<T>): Promise<T> {
    for (let tokenRenewed = false; ; tokenRenewed = true) {
      let status = 200;
      let failure: FeishuReply;
      try {
        const result = await operation();
        if (!result?.code) return result;
        failure = result;
      } catch (error) {
        if (!axios.isAxiosError(error)) throw error;
        if (!error.response) throw new PlatformError(`${what}: ${error.message}`, true);
        status = error.response.status;
        failure = (error.response.data ?? {}) as FeishuReply;
      }
      if (failure.code === INVALID_TOKEN_CODE && !tokenRenewed) {
        this.tokens.clear();
        continue;
      }
      const retryable = status === 429 || status >= 500 || FREQUENCY_LIMIT_CODES.has(failure.code ?? 0);
      throw new PlatformError(`${what}: HTTP ${status} code ${failure.code ?? '-'} ${failure.msg ?? ''}`.trim(), retryable);
    }
  }

  /**
   * Replies to a message with text (POST /open-apis/im/v1/messages/{message_id}/reply). Feishu
   * sends at most one message per `uuid` within an hour, so a resend after a timeout or a crash
   * with the same uuid is dropped by Feishu.
   */
  async reply(messageId: string, text: string, uuid: string, signal?: AbortSignal): Promise<void> {
    await withRetries(
      () =>
        this.call('reply', () =>
          this.client.im.v1.message.reply({ path: { message_id: messageId }, data: { msg_type: 'text', content: JSON.stringify({ text }), uuid } }),
        ),
      signal,
    );
  }

  /**
   * The bot's open_id, to tell whether a group message mentions it: fetched (with retries, one
   * lookup at a time) until it is known, then kept.
   */
  botOpenId(): Promise<string> {
    if (this.knownBotOpenId !== undefined) return Promise.resolve(this.knownBotOpenId);
    this.botIdentity ??= withRetries(() =>
      this.call('bot/v3/info', () => this.client.request<FeishuReply & { bot?: { open_id?: string } }>({ method: 'GET', url: '/open-apis/bot/v3/info' })),
    )
      .then((info) => {
        if (!info.bot?.open_id) throw new PlatformError('bot/v3/info: no open_id in the answer', false);
        this.knownBotOpenId = info.bot.open_id;
        return info.bot.open_id;
      })
      .catch((error) => {
        this.logger.warn({ channel: 'feishu', error: describe(error) }, 'bot identity lookup failed; will try again');
        throw error;
      })
      .finally(() => (this.botIdentity = undefined));
    return this.botIdentity;
  }

  /**
   * The bot's open_id if it is known; if not, undefined at once, and a lookup starts in the
   * background. For the acknowledgement path, which must never wait on Feishu.
   */
  cachedBotOpenId(): string | undefined {
    if (this.knownBotOpenId === undefined) this.botOpenId().catch(() => undefined);
    return this.knownBotOpenId;
  }

  /** Downloads a picture of a received message as a data URL for the model. */
  async imageDataUrl(messageId: string, imageKey: string, signal?: AbortSignal): Promise<string> {
    const resource = await withRetries(
      () =>
        this.call('messages/resources', async () => {
          const file = await this.client.im.v1.messageResource.get({ path: { message_id: messageId, file_key: imageKey }, params: { type: 'image' } });
          return Object.assign(file, { code: 0 });
        }),
      signal,
    );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of resource.getReadableStream()) {
      size += (chunk as Buffer).length;
      if (size > MAX_PICTURE_BYTES) throw new PlatformError(`picture download: over the ${MAX_PICTURE_BYTES} byte limit`, false);
      chunks.push(chunk as Buffer);
    }
    const contentType = String((resource.headers as Record<string, unknown>)?.['content-type'] ?? '');
    return dataUrl(Buffer.concat(chunks), contentType.startsWith('image/') ? contentType : 'image/png');
  }
}
