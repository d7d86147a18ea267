import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps';

/** DingTalk and Feishu callbacks and long connections. Filled in by the channels issue. */
export const channelsPlugin: FastifyPluginAsync<GatewayDeps> = async () => {};
