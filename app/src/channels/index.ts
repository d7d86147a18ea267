import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import type { LongConnection } from './connection';
import type { CallbackRequest, Door, DoorResult } from './door';
import { channelMetrics } from './metrics';

/** On shutdown, queued answers get this long; the rest is resumed by the next start. */
const SHUTDOWN_GRACE_MS = 5_000;

interface CallbackChannel {
  handleCallback(request: CallbackRequest): Promise<DoorResult>;
  door: Door;
}

/** What the plugin starts once the gateway is up and stops when it closes. */
interface RunningChannel {
  start(): void;
  inbox: { close(graceMs: number): Promise<void> };
}

/**
 * Registers a callback route in its own scope, where bodies stay raw bytes: Feishu signs them,
 * and a body that is not JSON must be counted as a refusal, not rejected before the channel
 * sees it. The time to acknowledge is recorded per outcome. The per-IP rate limit does not
 * apply: every message of every chat arrives from the platform's few addresses, deliveries are
 * verified before any work is done, and a 429 would only delay answers by the platform's
 * retry interval.
 */
async function callbackRoute(app: FastifyInstance, path: string, channel: CallbackChannel): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post(path, { config: { rateLimit: false } }, async (request, reply) => {
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = await channel.handleCallback({ headers: request.headers, query: request.query, rawBody });
      await channel.door.audited();
      channel.door.observeAck(result.outcome, reply.elapsedTime / 1000);
      return reply.code(result.status).send(result.body);
    });
  });
}

/**
 * DingTalk and Feishu. Each channel is on when its credentials are set, and either serves its
 * callback route (DingTalk http, Feishu webhook) or holds a long connection (stream, ws), whose
 * state /ready reports. A channel's modules, and the platform SDK they load (together about
 * 37 MB and 0.2 s of start-up), are required only when the channel is on.
 */
export const channelsPlugin: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const { dingtalk, feishu } = deps.settings.channels;
  if (!dingtalk && !feishu) return;
  const metrics = channelMetrics(deps.registry);
  const channels: RunningChannel[] = [];
  const connectors: Array<{ name: string; connect(): LongConnection }> = [];
  const connections: LongConnection[] = [];

  if (dingtalk) {
    const { DingtalkChannel } = require('./dingtalk/channel') as typeof import('./dingtalk/channel');
    const channel = new DingtalkChannel(deps, dingtalk, metrics);
    channels.push(channel);
    if (dingtalk.mode === 'stream') {
      const { startDingtalkStream } = require('./dingtalk/stream') as typeof import('./dingtalk/stream');
      connectors.push({ name: 'dingtalk_stream', connect: () => startDingtalkStream(channel, dingtalk, deps.logs.error) });
    } else {
      await callbackRoute(app, ROUTES.dingtalkCallback, channel);
    }
  }

  if (feishu) {
    const { FeishuChannel } = require('./feishu/channel') as typeof import('./feishu/channel');
    const channel = new FeishuChannel(deps, feishu, metrics);
    channels.push(channel);
    if (feishu.mode === 'ws') {
      const { startFeishuWs } = require('./feishu/ws') as typeof import('./feishu/ws');
      connectors.push({ name: 'feishu_ws', connect: () => startFeishuWs(channel, feishu, deps.logs.error) });
    } else {
      await callbackRoute(app, ROUTES.feishuCallback, channel);
    }
  }

  // Long connections and the recovery sweep start only once the gateway is up.
  app.addHook('onReady', async () => {
    for (const channel of channels) channel.start();
    for (const { name, connect } of connectors) {
      const connection = connect();
      connections.push(connection);
      deps.readiness.add(name, () => connection.readiness());
    }
  });
  app.addHook('onClose', async () => {
    for (const connection of connections) connection.stop();
    await Promise.all(channels.map((channel) => channel.inbox.close(SHUTDOWN_GRACE_MS)));
  });
};
