import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { listenOn, PortInUseError, startupBanner } from './lib/banner';
import { SHUTDOWN_GRACE_MS } from './contract';
import { ConfigError, loadSettings, type Settings } from './lib/config';
import { startMetricsServer } from './observability/metrics-server';
import { buildGateway } from './server';
import { createDeps } from './startup';
import { openWebPageIfAsked } from './web/open';

// Start-up and shutdown notices for the operator, on stdout (docker logs). Request, model,
// audit and error logs go to the files under <data dir>/logs/. A person at a terminal gets a
// short text block instead of the info lines (warnings and errors still show).
const forPerson = process.stdout.isTTY === true;
const console = pino({ base: undefined, level: forPerson ? 'warn' : 'info' });

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.fatal({ variable: error.variable }, `invalid setting ${error.message}`);
    process.exit(1);
  }

  const deps = await createDeps(settings, console);
  // A bug must not take the gateway down with a stray promise; a thrown exception leaves it in
  // an unknown state, so it is logged (error.log is written synchronously) and the process
  // exits for the container's restart policy.
  process.on('unhandledRejection', (reason) => deps.logs.error.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (error) => {
    deps.logs.error.fatal({ err: error }, 'uncaught exception');
    console.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });

  let app: FastifyInstance | undefined;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    app = await buildGateway(deps);
    await listenOn('PORT', settings.host, settings.port, () => app!.listen({ port: settings.port, host: settings.host }));
    metrics = await listenOn('METRICS_PORT', settings.metricsHost, settings.metricsPort, () =>
      startMetricsServer(deps.registry, settings.metricsHost, settings.metricsPort),
    );
  } catch (error) {
    // Close what is open before exiting: a buffered log whose file is still opening cannot be
    // flushed by pino's exit hook ("sonic boom is not ready yet").
    deps.logs.error.fatal({ err: error }, 'failed to start');
    await app?.close();
    await deps.close();
    throw error;
  }

  const { port } = app.server.address() as AddressInfo;
  const wildcard = settings.host === '0.0.0.0' || settings.host === '::';
  const url = `http://${wildcard ? '127.0.0.1' : settings.host}:${port}`;
  const { model } = deps.models.status();
  console.info(
    { url, metricsUrl: metrics.url, dataDir: settings.dataDir, model, store: deps.store.kind, routing: settings.routing },
    `clawdbot gateway listening on ${url} (model ${model.provider}/${model.name}, ${deps.store.kind} store, data in ${settings.dataDir})`,
  );
  const { dingtalk, feishu } = settings.channels;
  if ((dingtalk || feishu) && deps.store.kind === 'memory') {
    console.warn(
      'DingTalk/Feishu run on the in-memory store: a message acknowledged but not yet answered is lost when the gateway stops. ' +
        'Set REDIS_URL to keep it for the next start (the host compose runs Redis).',
    );
  }
  const pageUrl = `http://${wildcard ? 'localhost' : settings.host}:${port}/`;
  if (forPerson) {
    process.stdout.write(
      startupBanner({ url: pageUrl, port, dataDir: settings.dataDir, keysConfigured: settings.apiKeys !== undefined, model, routing: settings.routing, cwd: process.cwd() }),
    );
  }
  openWebPageIfAsked(process.argv, pageUrl, console);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.info({ signal }, `${signal}: no new requests; finishing in-flight ones (at most ${SHUTDOWN_GRACE_MS / 1000} s)`);
    const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    // A keep-alive connection whose last request finishes during shutdown turns idle; close it
    // then, rather than waiting for the client or the grace period.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    try {
      await app.close();
    } finally {
      clearTimeout(force);
      clearInterval(sweep);
    }
    await metrics.close();
    await deps.close();
    console.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  const message = `clawdbot gateway failed to start: ${(error as Error)?.message ?? error}`;
  // A busy port is no bug: one line saying what to change, no stack trace.
  if (error instanceof PortInUseError && forPerson) process.stderr.write(`${message}\n`);
  else if (error instanceof PortInUseError) console.fatal(message);
  else console.fatal({ err: error }, message);
  process.exit(1);
});
