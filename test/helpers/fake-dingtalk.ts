import crypto from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakePlatform, PNG_PIXEL, type RecordedRequest } from '../channels/fake-platform';

export const DINGTALK_APP_KEY = 'dingtestappkey';
export const DINGTALK_APP_SECRET = 'dingtalk-test-app-secret-value';
/** 43 characters of base64, as the console issues them. */
export const DINGTALK_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
export const DINGTALK_TOKEN = 'dingtalk-event-token';

/** The environment a gateway needs to talk to this fake DingTalk over HTTP callbacks. */
export function dingtalkEnv(fake: FakeDingtalk, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DINGTALK_APP_KEY,
    DINGTALK_APP_SECRET,
    DINGTALK_AES_KEY,
    DINGTALK_TOKEN,
    DINGTALK_OAPI_BASE: fake.url,
    DINGTALK_API_BASE: fake.url,
    ...extra,
  };
}

/** How DingTalk signs a robot callback (computed here independently of the gateway's code). */
export function signRobotCallback(timestamp: string, secret = DINGTALK_APP_SECRET): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

export interface RobotMessageOptions {
  msgId?: string;
  text?: string;
  group?: boolean;
  conversationId?: string;
  senderStaffId?: string;
  /** Defaults to a webhook on the fake, valid for 90 minutes. */
  sessionWebhook?: string;
  sessionWebhookExpiredTime?: number;
  msgtype?: string;
  content?: unknown;
}

/**
 * A fake DingTalk: session webhooks (/robot/sendBySession), the OpenAPI (access token, one-to-one
 * and group sends, file downloads) and the Stream gateway with a WebSocket endpoint.
 */
export class FakeDingtalk extends FakePlatform {
  private tokens = 0;
  private sockets = new Set<WebSocket>();
  readonly streamAcks: Array<{ messageId: string; data: unknown }> = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private ackWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor() {
    super();
    this.route('POST', /^\/v1\.0\/oauth2\/accessToken$/, (request) => {
      if (request.body?.appKey !== DINGTALK_APP_KEY || request.body?.appSecret !== DINGTALK_APP_SECRET) {
        return { status: 400, body: { code: 'invalidClientIdOrSecret', message: 'wrong credentials' } };
      }
      this.tokens += 1;
      return { body: { accessToken: `dt-token-${this.tokens}`, expireIn: 7200 } };
    });
    this.route('POST', /^\/robot\/sendBySession$/, () => ({ body: { errcode: 0, errmsg: 'ok' } }));
    const openApi = (request: RecordedRequest) =>
      /^dt-token-\d+$/.test(String(request.headers['x-acs-dingtalk-access-token']))
        ? { body: { processQueryKey: 'queued' } }
        : { status: 401, body: { code: 'InvalidAuthentication', message: 'token invalid' } };
    this.route('POST', /^\/v1\.0\/robot\/(oToMessages\/batchSend|groupMessages\/send)$/, openApi);
    this.route('POST', /^\/v1\.0\/robot\/messageFiles\/download$/, (request) => {
      const denied = openApi(request);
      if (denied.status) return denied;
      return { body: { downloadUrl: `${this.url}/files/${encodeURIComponent(request.body?.downloadCode)}` } };
    });
    this.route('GET', /^\/files\//, () => ({ headers: { 'content-type': 'image/png' }, body: PNG_PIXEL }));
    this.route('POST', /^\/v1\.0\/gateway\/connections\/open$/, (request) =>
      request.body?.clientId === DINGTALK_APP_KEY && request.body?.clientSecret === DINGTALK_APP_SECRET
        ? { body: { endpoint: `${this.url.replace('http', 'ws')}/stream`, ticket: 'ticket-1' } }
        : { status: 400, body: { code: 'invalid', message: 'wrong credentials' } },
    );
    this.server.on('upgrade', (request, socket, head) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('message', (data) => this.onStreamMessage(String(data)));
        this.wss.emit('connection', ws, request);
      });
    });
  }

  /** The session webhook DingTalk hands out with each message. */
  get webhookUrl(): string {
    return `${this.url}/robot/sendBySession?session=fake-session`;
  }

  robotMessage(options: RobotMessageOptions = {}): Record<string, unknown> {
    const group = options.group ?? false;
    return {
      msgId: options.msgId ?? `msg-${crypto.randomUUID()}`,
      msgtype: options.msgtype ?? 'text',
      ...(options.content === undefined ? { text: { content: ` ${options.text ?? 'hello'}` } } : { content: options.content }),
      conversationId: options.conversationId ?? (group ? 'cid-group-1' : 'cid-single-1'),
      conversationType: group ? '2' : '1',
      senderStaffId: options.senderStaffId ?? 'staff-1',
      senderId: '$:LWCP_v1:$encrypted-sender',
      senderNick: 'Tester',
      robotCode: DINGTALK_APP_KEY,
      sessionWebhook: options.sessionWebhook ?? this.webhookUrl,
      sessionWebhookExpiredTime: options.sessionWebhookExpiredTime ?? Date.now() + 90 * 60 * 1000,
      createAt: Date.now(),
    };
  }

  /** Everything the gateway sent to users: webhook posts and OpenAPI sends. */
  get sent(): RecordedRequest[] {
    return this.received(/^\/robot\/sendBySession$|^\/v1\.0\/robot\/(oToMessages\/batchSend|groupMessages\/send)$/);
  }

  /** Waits for a Stream client to connect. */
  async streamConnected(): Promise<void> {
    if (this.sockets.size > 0) return;
    await new Promise<void>((resolve) => this.wss.once('connection', () => resolve()));
  }

  /** Pushes a robot message over the Stream connection, as DingTalk does. */
  pushRobotMessage(message: Record<string, unknown>, messageId = crypto.randomUUID()): string {
    const frame = {
      specVersion: '1.0',
      type: 'CALLBACK',
      headers: { appId: 'app', connectionId: 'c1', contentType: 'application/json', messageId, time: String(Date.now()), topic: '/v1.0/im/bot/messages/get' },
      data: JSON.stringify(message),
    };
    for (const socket of this.sockets) socket.send(JSON.stringify(frame));
    return messageId;
  }

  /** Resolves once `count` pushes have been ACKed. */
  waitForAcks(count: number): Promise<void> {
    if (this.streamAcks.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.ackWaiters.push({ count, resolve }));
  }

  private onStreamMessage(raw: string): void {
    const message = JSON.parse(raw) as { code?: number; headers?: { messageId?: string }; data?: string };
    if (message.code !== 200 || !message.headers?.messageId) return;
    this.streamAcks.push({ messageId: message.headers.messageId, data: message.data ? JSON.parse(message.data) : undefined });
    this.ackWaiters = this.ackWaiters.filter((waiter) => {
      if (this.streamAcks.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  override async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    await super.close();
  }
}

export async function startFakeDingtalk(): Promise<FakeDingtalk> {
  const fake = new FakeDingtalk();
  await fake.start();
  return fake;
}
