import crypto from 'node:crypto';
import protobuf from 'protobufjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakePlatform, PNG_PIXEL, type FakeResponse, type RecordedRequest } from '../channels/fake-platform';

export const FEISHU_APP_ID = 'cli_0123456789abcdef';
export const FEISHU_APP_SECRET = 'feishu-test-app-secret';
export const FEISHU_ENCRYPT_KEY = 'feishu-test-encrypt-key';
export const FEISHU_VERIFICATION_TOKEN = 'feishu-verification-token';
export const FEISHU_BOT_OPEN_ID = 'ou_bot_0001';

export function feishuEnv(fake: FakeFeishu, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FEISHU_APP_ID,
    FEISHU_APP_SECRET,
    FEISHU_ENCRYPT_KEY,
    FEISHU_VERIFICATION_TOKEN,
    FEISHU_API_BASE: fake.url,
    ...extra,
  };
}

/** Feishu's encryption, written here independently: AES-256-CBC, key SHA-256(encrypt key), IV prefixed. */
export function encryptFeishu(payload: unknown, encryptKey = FEISHU_ENCRYPT_KEY): string {
  const key = crypto.createHash('sha256').update(encryptKey).digest();
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, cipher.update(JSON.stringify(payload)), cipher.final()]).toString('base64');
}

/** A signed delivery as Feishu sends it: the body bytes (a string is sent as is) and the X-Lark-* headers over them. */
export function signedDelivery(
  body: unknown,
  options: { timestamp?: number; encryptKey?: string; signature?: string } = {},
): { body: string; headers: Record<string, string> } {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = crypto.randomBytes(8).toString('hex');
  const signature =
    options.signature ??
    crypto
      .createHash('sha256')
      .update(timestamp + nonce + (options.encryptKey ?? FEISHU_ENCRYPT_KEY) + raw)
      .digest('hex');
  return {
    body: raw,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': signature,
    },
  };
}

export interface MessageEventOptions {
  eventId?: string;
  messageId?: string;
  chatId?: string;
  group?: boolean;
  text?: string;
  /** open_ids mentioned in the message; their placeholders are put before the text. */
  mentions?: string[];
  senderType?: string;
  senderOpenId?: string;
  messageType?: string;
  content?: unknown;
  token?: string;
}

/** An im.message.receive_v1 event of subscription version 2.0. */
export function messageEvent(options: MessageEventOptions = {}): Record<string, any> {
  const mentions = (options.mentions ?? []).map((openId, index) => ({
    key: `@_user_${index + 1}`,
    id: { open_id: openId, union_id: `on_${index}`, user_id: '' },
    name: openId === FEISHU_BOT_OPEN_ID ? 'clawdbot' : `user ${index + 1}`,
    tenant_key: 'tenant',
  }));
  const placeholders = mentions.map((mention) => mention.key).join(' ');
  const text = [placeholders, options.text ?? 'hello'].filter(Boolean).join(' ');
  return {
    schema: '2.0',
    header: {
      event_id: options.eventId ?? `ev-${crypto.randomUUID()}`,
      event_type: 'im.message.receive_v1',
      create_time: String(Date.now()),
      token: options.token ?? FEISHU_VERIFICATION_TOKEN,
      app_id: FEISHU_APP_ID,
      tenant_key: 'tenant',
    },
    event: {
      sender: { sender_id: { open_id: options.senderOpenId ?? 'ou_user_1', union_id: 'on_user', user_id: 'u1' }, sender_type: options.senderType ?? 'user', tenant_key: 'tenant' },
      message: {
        message_id: options.messageId ?? `om_${crypto.randomUUID().replace(/-/g, '')}`,
        create_time: String(Date.now()),
        chat_id: options.chatId ?? (options.group ? 'oc_group_1' : 'oc_p2p_1'),
        chat_type: options.group ? 'group' : 'p2p',
        message_type: options.messageType ?? 'text',
        content: JSON.stringify(options.content ?? { text }),
        mentions: mentions.length ? mentions : undefined,
      },
    },
  };
}

// The frame of Feishu's long connection (pbbp2.Frame in the SDK), for the fake's WebSocket end.
const frames = protobuf.Root.fromJSON({
  nested: {
    Header: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Frame: {
      fields: {
        SeqID: { type: 'uint64', id: 1 },
        LogID: { type: 'uint64', id: 2 },
        service: { type: 'int32', id: 3 },
        method: { type: 'int32', id: 4 },
        headers: { rule: 'repeated', type: 'Header', id: 5 },
        payloadEncoding: { type: 'string', id: 6 },
        payloadType: { type: 'string', id: 7 },
        payload: { type: 'bytes', id: 8 },
        LogIDNew: { type: 'string', id: 9 },
      },
    },
  },
}).lookupType('Frame');
const CONTROL_FRAME = 0;
const DATA_FRAME = 1;
const WS_SERVICE_ID = 7;
/** Feishu sends at most one message per reply uuid within an hour. */
const UUID_DEDUP_MS = 60 * 60 * 1000;

interface Frame {
  method: number;
  headers: Array<{ key: string; value: string }>;
  payload?: Uint8Array;
}

/**
 * A fake Feishu open platform: tenant_access_token, message replies, bot info and message
 * resources, and the long connection (endpoint discovery and a WebSocket that pushes events).
 * Tokens can be revoked, so the next call with one gets 99991663.
 */
export class FakeFeishu extends FakePlatform {
  private issued = 0;
  private readonly valid = new Set<string>();
  /** Replies Feishu accepted and sent (failed attempts and repeated uuids are in `requests` only). */
  readonly delivered: RecordedRequest[] = [];
  private readonly sentByUuid = new Map<string, { messageId: string; at: number }>();
  /** What the token endpoint says about lifetime, in seconds. */
  tokenLifetimeSeconds = 7200;
  /** The long connection's answers to pushed events: the push's message_id and the handler's code. */
  readonly wsAcks: Array<{ messageId: string; code: number }> = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private wsPings = 0;

  constructor() {
    super();
    this.route('POST', /^\/callback\/ws\/endpoint$/, (request) =>
      request.body?.AppID === FEISHU_APP_ID && request.body?.AppSecret === FEISHU_APP_SECRET
        ? {
            body: {
              code: 0,
              msg: 'ok',
              data: {
                URL: `${this.url.replace('http', 'ws')}/ws?device_id=fake-device&service_id=${WS_SERVICE_ID}`,
                ClientConfig: { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 0 },
              },
            },
          }
        : { body: { code: 1000040345, msg: 'app secret invalid' } },
    );
    this.server.on('upgrade', (request, socket, head) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('message', (data) => this.onFrame(data as Buffer));
        this.wss.emit('connection', ws);
      });
    });
    this.route('POST', /^\/open-apis\/auth\/v3\/tenant_access_token\/internal$/, (request) => {
      if (request.body?.app_id !== FEISHU_APP_ID || request.body?.app_secret !== FEISHU_APP_SECRET) {
        return { body: { code: 10014, msg: 'app secret invalid' } };
      }
      this.issued += 1;
      const token = `t-${this.issued}`;
      this.valid.add(token);
      return { body: { code: 0, msg: 'ok', tenant_access_token: token, expire: this.tokenLifetimeSeconds } };
    });
    this.route('POST', /^\/open-apis\/im\/v1\/messages\/[^/]+\/reply$/, (request) =>
      this.authorized(request, () => ({ body: { code: 0, msg: 'success', data: { message_id: this.deliver(request) } } })),
    );
    this.route('GET', /^\/open-apis\/bot\/v3\/info$/, (request) =>
      this.authorized(request, () => ({ body: { code: 0, msg: 'ok', bot: { open_id: FEISHU_BOT_OPEN_ID, app_name: 'clawdbot' } } })),
    );
    this.route('GET', /^\/open-apis\/im\/v1\/messages\/[^/]+\/resources\/[^/]+$/, (request) =>
      this.authorized(request, () => ({ headers: { 'content-type': 'image/png' }, body: PNG_PIXEL })),
    );
  }

  /**
   * Delivers a reply unless one with the same uuid was delivered within the hour, as Feishu
   * does; either way the answer names the message that carries it.
   */
  private deliver(request: RecordedRequest): string {
    const uuid = typeof request.body?.uuid === 'string' && request.body.uuid ? request.body.uuid : undefined;
    const earlier = uuid === undefined ? undefined : this.sentByUuid.get(uuid);
    if (earlier && Date.now() - earlier.at < UUID_DEDUP_MS) return earlier.messageId;
    const messageId = `om_reply_${crypto.randomUUID()}`;
    this.delivered.push(request);
    if (uuid !== undefined) this.sentByUuid.set(uuid, { messageId, at: Date.now() });
    return messageId;
  }

  private authorized(request: RecordedRequest, answer: () => FakeResponse): FakeResponse {
    const token = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.valid.has(token)) return { status: 400, body: { code: 99991663, msg: 'Invalid access token for authorization' } };
    return answer();
  }

  /**
   * Waits until the SDK's long connection is ready for pushes: its first ping, which the SDK
   * sends once it is connected (its event handler is attached by the time the ping arrives).
   */
  wsConnected(): Promise<void> {
    return this.waitUntil(() => this.wsPings > 0);
  }

  /** Pushes an event over the long connection; returns the push's message_id. */
  pushEvent(event: unknown): string {
    const messageId = `push-${crypto.randomUUID()}`;
    const headers = { type: 'event', message_id: messageId, sum: '1', seq: '0', trace_id: 'trace' };
    const frame = frames.create({
      SeqID: 0,
      LogID: 0,
      service: WS_SERVICE_ID,
      method: DATA_FRAME,
      headers: Object.entries(headers).map(([key, value]) => ({ key, value })),
      payload: Buffer.from(JSON.stringify(event)),
    });
    const bytes = frames.encode(frame).finish();
    for (const socket of this.sockets) socket.send(bytes);
    return messageId;
  }

  private onFrame(data: Buffer): void {
    const frame = frames.decode(data) as unknown as Frame;
    const header = (key: string) => frame.headers.find((h) => h.key === key)?.value;
    if (frame.method === CONTROL_FRAME && header('type') === 'ping') {
      this.wsPings += 1;
      this.notify();
      return;
    }
    if (frame.method !== DATA_FRAME || header('type') !== 'event' || !frame.payload) return;
    const { code } = JSON.parse(Buffer.from(frame.payload).toString()) as { code: number };
    this.wsAcks.push({ messageId: header('message_id') ?? '', code });
    this.notify();
  }

  override async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    await super.close();
  }

  /** Invalidates every token issued so far, as when the app secret is reset. */
  revokeTokens(): void {
    this.valid.clear();
  }

  get tokenRequests(): RecordedRequest[] {
    return this.received(/^\/open-apis\/auth\/v3\/tenant_access_token\/internal$/);
  }

  /** The text of each accepted reply, in the order they arrived. */
  get replyTexts(): string[] {
    return this.delivered.map((request) => JSON.parse(request.body.content).text as string);
  }
}

export async function startFakeFeishu(host?: string): Promise<FakeFeishu> {
  const fake = new FakeFeishu();
  await fake.start(host);
  return fake;
}
