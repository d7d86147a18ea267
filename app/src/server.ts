import { createRequire } from 'node:module';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { channelsPlugin } from './channels';
import type { GatewayDeps } from './deps';
import { accessLogPlugin } from './http/access-log';
import { adminPlugin } from './http/admin';
import { identifyClient, requireApiKey } from './http/auth';
import { chatApiPlugin } from './http/chat-api';
import { serverTimeouts } from './http/connections';
import { BODY_LIMIT_BYTES, clientErrorHandler, errorsPlugin } from './http/errors';
import { healthPlugin } from './http/health';
import { metricsPlugin } from './http/metrics';
import { openaiApiPlugin } from './http/openai-api';
import { rateLimitPlugin } from './http/rate-limit';
import { RequestLog } from './http/request-log';
import { requestOutcomePlugin } from './http/request-outcome';
import { newRequestId, requestIdPlugin } from './http/request-id';
import { webPlugin } from './web/plugin';

type CompilersFactory = Required<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>>;

/**
 * Fastify's default JSON-schema compilers (ajv, fast-json-stringify), loaded on first use. No
 * route declares a JSON schema (bodies are checked with zod: parseBody), and loading them at
 * start took about 100 modules, 150 ms and 2.5 MB.
 */
function lazyDefaultCompilers(): CompilersFactory {
  // Resolved on first use too: resolving Fastify took some 2.5 ms of every start.
  let fastifyRequire: NodeJS.Require | undefined;
  const fromFastify = (name: string) => (fastifyRequire ??= createRequire(require.resolve('fastify')))(name);
  // ajv-compiler's factory type is a union of two builders; the default (not JTD) one is made here.
  let validator: ((schemas: unknown, options: unknown) => never) | undefined;
  let serializer: CompilersFactory['buildSerializer'] | undefined;
  return {
    buildValidator: (schemas: unknown, options: unknown) => (validator ??= fromFastify('@fastify/ajv-compiler')())(schemas, options),
    buildSerializer: (schemas, options) => (serializer ??= fromFastify('@fastify/fast-json-stringify-compiler')())(schemas, options),
  };
}

/**
 * The public gateway (port 18789). Cross-cutting plugins (errors, client identity, rate limit,
 * metrics, access log) apply to every route; each feature is its own encapsulated plugin.
 * Listening is the caller's job (main.ts, or a test on port 0).
 */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // error.log takes warnings and up, so Fastify's per-request info lines never reach it.
    loggerInstance: deps.logs.error as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    ...serverTimeouts(deps.settings),
    clientErrorHandler,
    genReqId: newRequestId,
    schemaController: { compilersFactory: lazyDefaultCompilers() },
    // Fastify passes an options object, empty unless a route sets its own log level or
    // serializers (none does); pino's child() takes a slower path for any options object.
    childLoggerFactory: (_logger, bindings, options) => new RequestLog(deps.logs.error, bindings, options.level || options.serializers ? options : undefined),
    // Only the proxies named in TRUST_PROXY (Caddy) may say who the client is: trusting a
    // whole range would let any client on it pick its own per-IP rate-limit bucket.
    trustProxy: deps.settings.trustProxy.length > 0 ? deps.settings.trustProxy : false,
  });
  // Every body the API reads is JSON: a text/plain body (JSON or not) is a wrong Content-Type,
  // answered 415 as docs/bot.md says, not parsed to a string and refused as a "not an object".
  app.removeContentTypeParser('text/plain');

  await app.register(errorsPlugin, deps);
  await app.register(requestIdPlugin);
  await app.register(identifyClient, deps);
  await app.register(requestOutcomePlugin);
  await app.register(metricsPlugin, deps);
  await app.register(accessLogPlugin, deps);
  await app.register(rateLimitPlugin, deps);

  await app.register(healthPlugin, deps);
  await app.register(async (api) => {
    await api.register(requireApiKey);
    await api.register(chatApiPlugin, deps);
    await api.register(openaiApiPlugin, deps);
  });
  await app.register(adminPlugin, deps);
  await app.register(channelsPlugin, deps);
  await app.register(webPlugin, deps);
  return app;
}
