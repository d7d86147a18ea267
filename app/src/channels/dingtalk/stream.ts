import type * as DingtalkStream from 'dingtalk-stream' with { 'resolution-mode': 'import' };
import type { Logger } from 'pino';
import { ConnectionFailures, type LongConnection } from '../connection';
import { requestJson } from '../http';
import type { DingtalkSettings } from '../settings';
import type { DingtalkChannel } from './channel';

// The package's "require" export is CommonJS, but its types are published as ESM only.
const { DWClient, EventAck, TOPIC_ROBOT } = require('dingtalk-stream') as typeof DingtalkStream;

// The SDK's own connection steps (getEndpoint, then the WebSocket); the second is untyped.
type SdkSteps = { _connect(): Promise<void> };

/**
 * The SDK's client, with its gateway at DINGTALK_API_BASE (the SDK hard-codes
 * api.dingtalk.com), a stop that also cancels a pending reconnect, and its failures reported:
 * the SDK retries every second and keeps every failure to itself.
 */
class ConfiguredClient extends DWClient {
  private stopped = false;

  constructor(
    private readonly apiBase: string,
    credentials: { clientId: string; clientSecret: string },
    private readonly failures: ConnectionFailures,
  ) {
    super({ ...credentials, keepAlive: true });
  }

  override async getEndpoint(): Promise<this> {
    const { clientId, clientSecret, ua, subscriptions } = this.getConfig();
    try {
      const response = await requestJson(`${this.apiBase}/v1.0/gateway/connections/open`, {
        body: { clientId, clientSecret, ua, subscriptions },
        headers: { accept: 'application/json' },
      });
      const { endpoint, ticket } = (response.body ?? {}) as { endpoint?: string; ticket?: string };
      if (response.status !== 200 || !endpoint || !ticket) {
        throw new Error(`gateway/connections/open: HTTP ${response.status}, no endpoint or ticket`);
      }
      // The SDK connects to this field; it is private in its typings only.
      (this as unknown as { dw_url: string }).dw_url = `${endpoint}?ticket=${encodeURIComponent(ticket)}`;
      return this;
    } catch (error) {
      this.failures.failed(error);
      throw error;
    }
  }

  /** The SDK's WebSocket step (which the SDK's connect() calls), with its outcome reported. */
  async _connect(): Promise<void> {
    try {
      await (DWClient.prototype as unknown as SdkSteps)._connect.call(this);
      this.failures.connected();
    } catch (error) {
      this.failures.failed(error);
      throw error;
    }
  }

  override async connect(): Promise<void> {
    if (!this.stopped) await super.connect();
  }

  stop(): void {
    this.stopped = true;
    this.disconnect();
  }
}

/**
 * DINGTALK_MODE=stream: robot messages arrive over the SDK's long connection, for hosts
 * without a public callback URL. Every push is ACKed once its message is recorded; when the
 * store cannot record it the ACK is withheld, so DingTalk pushes it again about a minute later.
 * `readiness()` is 'ok' while the connection is up, else why not.
 */
export function startDingtalkStream(channel: DingtalkChannel, settings: DingtalkSettings, logger: Logger): LongConnection {
  const failures = new ConnectionFailures('DingTalk Stream', logger);
  const client = new ConfiguredClient(settings.apiBase, { clientId: settings.appKey, clientSecret: settings.appSecret }, failures);
  client.registerCallbackListener(TOPIC_ROBOT, (push: DingtalkStream.DWClientDownStream) => {
    const started = process.hrtime.bigint();
    let body: unknown;
    try {
      body = JSON.parse(push.data);
    } catch {
      body = undefined;
    }
    channel
      .receive(body)
      .then(async (result) => {
        if (result.status >= 500) return;
        await channel.door.audited();
        client.socketCallBackResponse(push.headers.messageId, {});
        channel.door.observeAck(result.outcome, Number(process.hrtime.bigint() - started) / 1e9);
      })
      .catch((error) => logger.error({ err: error, channel: 'dingtalk' }, 'stream push handling failed'));
  });
  // Other event pushes are not used; they are ACKed so DingTalk does not push them again.
  client.registerAllEventListener(() => ({ status: EventAck.SUCCESS }));
  void client.connect();
  return { stop: () => client.stop(), readiness: () => (client.connected ? 'ok' : failures.reason()) };
}
