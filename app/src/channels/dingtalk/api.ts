import type { DingtalkSettings } from '../settings';
import { MAX_PICTURE_BYTES, dataUrl } from '../answer';
import { PlatformError, fetchBytes, requestJson, withRetries } from '../http';

/** A markdown message; DingTalk shows the title in notifications and the chat list. */
export interface Markdown {
  title: string;
  text: string;
}

/** Refresh the access token this long before DingTalk says it expires. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** Webhook errcodes that mean "slow down" or "busy, try again". */
const WEBHOOK_RETRYABLE = new Set([130101, -1]);

interface OpenApiError {
  code?: string;
  message?: string;
}

/**
 * DingTalk's outbound side: the conversation webhook and the robot OpenAPI (access token,
 * one-to-one and group sends, picture downloads). Every call retries rate limits with backoff.
 */
export class DingtalkApi {
  private token?: { value: string; expiresAt: number };
  private tokenRequest?: Promise<string>;

  constructor(
    private readonly settings: DingtalkSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** The app access token, cached until shortly before it expires. */
  async accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.token.expiresAt - TOKEN_REFRESH_MARGIN_MS > this.now()) return this.token.value;
    // Concurrent callers share one request.
    this.tokenRequest ??= this.requestToken(signal).finally(() => (this.tokenRequest = undefined));
    return this.tokenRequest;
  }

  private async requestToken(signal?: AbortSignal): Promise<string> {
    const response = await withRetries(
      () =>
        requestJson(`${this.settings.apiBase}/v1.0/oauth2/accessToken`, {
          body: { appKey: this.settings.appKey, appSecret: this.settings.appSecret },
          signal,
        }),
      signal,
    );
    const body = response.body as { accessToken?: string; expireIn?: number } & OpenApiError;
    if (response.status !== 200 || !body?.accessToken) {
      throw new PlatformError(`accessToken: HTTP ${response.status} ${body?.code ?? ''} ${body?.message ?? ''}`.trim(), false);
    }
    this.token = { value: body.accessToken, expiresAt: this.now() + (body.expireIn ?? 7200) * 1000 };
    return body.accessToken;
  }

  /** POSTs to the robot OpenAPI; an expired token is dropped and the call made once more. */
  private async openApi(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const call = async (retriedToken: boolean): Promise<unknown> => {
      const token = await this.accessToken(signal);
      const response = await requestJson(`${this.settings.apiBase}${path}`, {
        body,
        headers: { 'x-acs-dingtalk-access-token': token },
        signal,
      });
      if (response.status === 200) return response.body;
      const error = (response.body ?? {}) as OpenApiError;
      if (!retriedToken && (response.status === 401 || error.code === 'InvalidAuthentication')) {
        this.token = undefined;
        return call(true);
      }
      const throttled = /throttl|qpslimit|ratelimit/i.test(error.code ?? '');
      throw new PlatformError(`${path}: HTTP ${response.status} ${error.code ?? ''} ${error.message ?? ''}`.trim(), throttled);
    };
    return withRetries(() => call(false), signal);
  }

  async sendWebhook(url: string, message: Markdown, atUserIds: string[], signal?: AbortSignal): Promise<void> {
    await withRetries(async () => {
      const response = await requestJson(url, {
        body: { msgtype: 'markdown', markdown: message, at: { atUserIds, isAtAll: false } },
        signal,
      });
      const body = (response.body ?? {}) as { errcode?: number; errmsg?: string };
      if (response.status !== 200 || (body.errcode ?? 0) !== 0) {
        throw new PlatformError(`sessionWebhook: HTTP ${response.status} errcode ${body.errcode} ${body.errmsg ?? ''}`.trim(), WEBHOOK_RETRYABLE.has(body.errcode ?? 0));
      }
    }, signal);
  }

  async sendToUser(staffId: string, message: Markdown, signal?: AbortSignal): Promise<void> {
    await this.openApi(
      '/v1.0/robot/oToMessages/batchSend',
      { robotCode: this.settings.robotCode, userIds: [staffId], msgKey: 'sampleMarkdown', msgParam: JSON.stringify(message) },
      signal,
    );
  }

  async sendToGroup(openConversationId: string, message: Markdown, signal?: AbortSignal): Promise<void> {
    await this.openApi(
      '/v1.0/robot/groupMessages/send',
      { robotCode: this.settings.robotCode, openConversationId, msgKey: 'sampleMarkdown', msgParam: JSON.stringify(message) },
      signal,
    );
  }

  /** Downloads a received picture and returns it as a data URL for the model. */
  async pictureDataUrl(downloadCode: string, signal?: AbortSignal): Promise<string> {
    const body = (await this.openApi('/v1.0/robot/messageFiles/download', { downloadCode, robotCode: this.settings.robotCode }, signal)) as {
      downloadUrl?: string;
    };
    if (!body?.downloadUrl) throw new PlatformError('messageFiles/download: no downloadUrl in the answer', false);
    const downloadUrl = body.downloadUrl;
    const { bytes, contentType } = await withRetries(() => fetchBytes(downloadUrl, MAX_PICTURE_BYTES, signal), signal);
    return dataUrl(bytes, contentType?.startsWith('image/') ? contentType : 'image/jpeg');
  }
}
