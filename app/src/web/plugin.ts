import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps';

/** The web chat page at `/`. Filled in by the clients issue. */
export const webPlugin: FastifyPluginAsync<GatewayDeps> = async () => {};
