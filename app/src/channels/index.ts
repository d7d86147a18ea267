import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import { DingtalkChannel } from './dingtalk/channel';
import { startDingtalkStream } from './dingtalk/stream';
import type { CallbackRequest, DoorResult } from './door';
import { FeishuChannel } from './feishu/channel';
import { startFeishuWs } from './feishu/ws';
import { channelMetrics } from './metrics';

/** On shutdown, queued answers get this long; the rest is resumed by the next start. */
const SHUTDOWN_GRACE_MS = 5_000;

interface CallbackChannel {
  handleCallback(request: CallbackRequest): Promise<DoorResult>;
  observeAck(outcome: string, seconds: number): void;
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
      channel.observeAck(result.outcome, reply.elapsedTime / 1000);
      return reply.code(result.status).send(result.body);
    });
  });
}

/**
 * DingTalk and Feishu. Each channel is on when its credentials are set, and either serves its
 * callback route (DingTalk http, Feishu webhook) or holds a long connection (stream, ws).
 */
export const channelsPlugin: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const { dingtalk, feishu } = deps.settings.channels;
  if (!dingtalk && !feishu) return;
  const metrics = channelMetrics(deps.registry);
  const inboxes: Array<{ start(): void; close(graceMs: number): Promise<void> }> = [];
  const connectors: Array<() => { stop(): void }> = [];
  const connections: Array<{ stop(): void }> = [];

  if (dingtalk) {
    const channel = new DingtalkChannel(deps, dingtalk, metrics);
    inboxes.push(channel.inbox);
    if (dingtalk.mode === 'stream') {
      connectors.push(() => startDingtalkStream(channel, dingtalk, deps.logs.error));
    } else {
      await callbackRoute(app, ROUTES.dingtalkCallback, channel);
    }
  }

  if (feishu) {
    const channel = new FeishuChannel(deps, feishu, metrics);
    inboxes.push({ start: () => channel.start(), close: (graceMs) => channel.inbox.close(graceMs) });
    if (feishu.mode === 'ws') {
      connectors.push(() => startFeishuWs(channel, feishu, deps.logs.error));
    } else {
      await callbackRoute(app, ROUTES.feishuCallback, channel);
    }
  }

  // Long connections and the recovery sweep start only once the gateway is up.
  app.addHook('onReady', async () => {
    for (const inbox of inboxes) inbox.start();
    for (const connect of connectors) connections.push(connect());
  });
  app.addHook('onClose', async () => {
    for (const connection of connections) connection.stop();
    await Promise.all(inboxes.map((inbox) => inbox.close(SHUTDOWN_GRACE_MS)));
  });
};
