import type { FastifyPluginAsync } from 'fastify';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import { InputError } from '../lib/errors';
import { switchRequestSchema } from '../models/manager';
import { sameSecret } from '../lib/constant-time';
import { bearerToken } from './auth';
import { parseBody } from './errors';

/**
 * GET /admin/model (what is serving) and PUT /admin/model (hot switch), behind the admin
 * token. Every admin call goes to the audit log with the caller's address before it is
 * handled (refused ones too); a switch adds its outcome. No answer leaves before its audit
 * lines are on disk.
 */
export const adminPlugin: FastifyPluginAsync<GatewayDeps> = async (app, { settings, models, logs }) => {
  const adminToken = settings.adminToken as string;
  app.addHook('preParsing', async (request) => {
    if (!sameSecret(bearerToken(request), adminToken)) {
      logs.audit.warn({ event: 'admin_denied', ip: request.ip, method: request.method, path: request.url.split('?')[0] }, 'admin request refused');
      throw new InputError('missing or invalid admin token: send Authorization: Bearer <CLAWDBOT_ADMIN_TOKEN>', undefined, 'invalid_admin_token', 401);
    }
    logs.audit.info({ event: 'admin_call', ip: request.ip, method: request.method, path: request.url.split('?')[0] }, 'admin request');
  });
  // The answer (a refusal too) leaves only once its audit lines are on disk.
  app.addHook('onSend', async () => {
    await logs.auditWritten();
  });

  // The routing comes along: with hybrid routing, a switch leaves greetings and the FAQ on the
  // rules engine, and modelctl says so.
  app.get(ROUTES.adminModel, async () => ({ ...models.status(), routing: settings.routing }));

  app.put(ROUTES.adminModel, async (request) => {
    const body = parseBody(switchRequestSchema, request.body);
    const { durationMs } = await models.switch(body, `admin@${request.ip}`);
    return { ...models.status(), routing: settings.routing, durationMs: Math.round(durationMs) };
  });
};
