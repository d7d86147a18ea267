import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LevelWithSilent, Logger } from 'pino';
import { Registry } from 'prom-client';
import { MessagesInFlight, protectFromScaleInWhileBusy } from './channels/in-flight';
import { ActiveSessions } from './chat/active-sessions';
import { ConversationLog } from './chat/conversation-log';
import { ConversationService } from './chat/conversation';
import { ResponseCache } from './chat/response-cache';
import { SessionHistory } from './chat/sessions';
import type { Settings } from './lib/config';
import { DATA_LAYOUT } from './contract';
import type { GatewayDeps } from './deps';
import { keepSecret } from './lib/data-dir';
import { removeTemporaryFiles, writeFileAtomic } from './lib/files';
import { createLogs, type FileLogs } from './observability/logs';
import { createMetrics } from './observability/metrics';
import { HotSwapModelManager } from './models/hot-swap';
import { FileModelChoice } from './models/model-choice';
import { SharedModelChoice } from './models/shared-choice';
import { RulesModel, STARTER_FAQ } from './models/rules';
import { ReadinessChecks } from './observability/readiness';
import { createStore } from './store';
import type { RedisStore } from './store/redis';

export interface RunningDeps extends GatewayDeps {
  logs: FileLogs;
  /** Closes the store and flushes the conversation and log files; later calls wait for the first. */
  close(): Promise<void>;
}

/**
 * A secret the gateway keeps for itself in `<data dir>/secrets/` (mode 0600) when the
 * environment gives none. Logs say where it is, never what it is.
 */
function keptSecret(dataDir: string, relativePath: string, what: string, variable: string, console?: Logger): string {
  const { file, secret, generated } = keepSecret(dataDir, relativePath);
  console?.info(
    { file },
    generated
      ? `${variable} is not set: generated an ${what}, kept in ${file} (readable by this user only)`
      : `${variable} is not set: using the ${what} kept in ${file}`,
  );
  return secret;
}

/** Builds everything the gateway needs from its settings; `console` gets start-up notices. */
export async function createDeps(settings: Settings, console?: Logger): Promise<RunningDeps> {
  const { dataDir } = settings;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(path.join(dataDir, DATA_LAYOUT.secrets), { recursive: true, mode: 0o700 });
  // Before anything writes: a crash mid-write leaves a temporary sibling, of a secret maybe.
  const stale = [dataDir, path.join(dataDir, DATA_LAYOUT.secrets)].flatMap(removeTemporaryFiles);

  const apiKeys = settings.apiKeys ?? [keptSecret(dataDir, DATA_LAYOUT.generatedApiKey, 'API key', 'CLAWDBOT_API_KEYS', console)];
  const adminToken = settings.adminToken ?? keptSecret(dataDir, DATA_LAYOUT.generatedAdminToken, 'admin token', 'CLAWDBOT_ADMIN_TOKEN', console);

  const faqFile = path.join(dataDir, DATA_LAYOUT.faq);
  if (!fs.existsSync(faqFile)) writeFileAtomic(faqFile, `${JSON.stringify(STARTER_FAQ, null, 2)}\n`);
  const rules = new RulesModel(faqFile);

  const logs = createLogs(path.join(dataDir, DATA_LAYOUT.logs), settings.logLevel as LevelWithSilent, settings.logRetention);
  if (stale.length > 0) logs.error.warn({ files: stale }, 'removed temporary files left by a crash');
  const store = createStore(settings.redis, settings.memoryStore, logs.error);
  const registry = new Registry();
  // No more sessions than the in-memory store keeps entries.
  const activeSessions = new ActiveSessions(settings.memoryStore.maxEntries);
  const metrics = createMetrics(registry, { activeSessions: () => activeSessions.count(), modelKeyExpiresAt: settings.modelKeyExpiresAt });

  const modelChoice =
    store.kind === 'redis'
      ? new SharedModelChoice(store as RedisStore)
      : new FileModelChoice(
          path.join(dataDir, DATA_LAYOUT.modelSwitch),
          { stateFile: path.join(dataDir, DATA_LAYOUT.legacyModelState), keyFile: path.join(dataDir, DATA_LAYOUT.legacyModelKey) },
          logs.audit,
        );
  const models = await HotSwapModelManager.start({
    configured: settings.model,
    rules,
    timeoutMs: settings.modelTimeoutMs,
    keyExpiresAt: settings.modelKeyExpiresAt,
    home: modelChoice,
    metrics,
    modelApiLog: logs.modelApi,
    auditLog: logs.audit,
  });
  const conversationLog = new ConversationLog(path.join(dataDir, DATA_LAYOUT.conversations), logs.error, {
    retentionDays: settings.conversationRetentionDays,
    maxBytes: settings.conversationLogMaxBytes,
  }, settings.sharedDataDir ? os.hostname() : undefined);
  const chat = new ConversationService({
    models,
    rules,
    sessions: new SessionHistory(store),
    cache: new ResponseCache(store, settings.cacheTtlSeconds, metrics),
    conversationLog,
    activeSessions,
    metrics,
    routing: settings.routing,
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    limits: settings.limits,
  });

  const imInFlight = new MessagesInFlight();
  if (settings.ecsAgentUri) protectFromScaleInWhileBusy(settings.ecsAgentUri, imInFlight, logs.error);

  let closing: Promise<void> | undefined;
  return {
    settings: { ...settings, apiKeys, adminToken },
    store,
    chat,
    models,
    registry,
    metrics,
    logs,
    readiness: new ReadinessChecks(),
    imInFlight,
    close() {
      closing ??= (async () => {
        await store.close();
        await conversationLog.close();
        await logs.close();
      })();
      return closing;
    },
  };
}
