import * as lark from '@larksuiteoapi/node-sdk';
import type { Logger } from 'pino';
import type { LongConnection } from '../connection';
import type { FeishuSettings } from '../settings';
import { sdkHttpInstance, sdkLogger } from './api';
import type { FeishuChannel } from './channel';

/**
 * FEISHU_MODE=ws: events arrive over the SDK's long connection, for hosts without a public
 * callback URL. The connection itself is authenticated by the app secret, so there is no
 * signature or token to check. The SDK acknowledges a push when the handler returns; a
 * handler that throws (the message could not be recorded) makes Feishu push it again.
 */
export function startFeishuWs(channel: FeishuChannel, settings: FeishuSettings, logger: Logger): LongConnection {
  const dispatcher = new lark.EventDispatcher({ logger: sdkLogger(logger), loggerLevel: lark.LoggerLevel.warn }).register({
    'im.message.receive_v1': async (data) => {
      const started = process.hrtime.bigint();
      const eventId = data.event_id || data.message.message_id;
      const result = await channel.receiveEvent('im.message.receive_v1', eventId, { sender: data.sender, message: data.message });
      if (result.status >= 500) throw new Error(`im.message.receive_v1 ${eventId}: not recorded, Feishu will push it again`);
      await channel.door.audited();
      channel.door.observeAck(result.outcome, Number(process.hrtime.bigint() - started) / 1e9);
    },
  });
  const client = new lark.WSClient({
    appId: settings.appId,
    appSecret: settings.appSecret,
    domain: settings.apiBase,
    httpInstance: sdkHttpInstance(),
    logger: sdkLogger(logger),
    loggerLevel: lark.LoggerLevel.warn,
  });
  void client.start({ eventDispatcher: dispatcher });
  return {
    stop: () => client.close({ force: true }),
    // The SDK logs its own failures (through sdkLogger) and retries them.
    readiness: () => {
      const { state } = client.getConnectionStatus();
      return state === 'connected' ? 'ok' : `not connected (${state})`;
    },
  };
}
