import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MessagesInFlight } from './channels/in-flight';
import type { ChatService } from './chat/service';
import type { Settings } from './lib/config';
import type { GatewayMetrics } from './observability/metrics';
import type { ModelManager } from './models/manager';
import type { ReadinessChecks } from './observability/readiness';
import type { Store } from './store/store';

/** What access.log records of a response (docs/bot.md); apiKeyId is left out without a valid key. */
export interface AccessLogEntry {
  reqId: string;
  method: string;
  path: string;
  route: string;
  status: number;
  durationMs: number;
  ip: string;
  apiKeyId?: string;
}

/** access.log: one line per response, at info level. */
export interface AccessLog {
  info(entry: AccessLogEntry): void;
}

/** The four log streams under `<data dir>/logs/`. */
export interface Logs {
  access: AccessLog;
  error: Logger;
  modelApi: Logger;
  audit: Logger;
  /**
   * Resolves once every audit line logged so far is on disk: whoever acknowledges an audited
   * action (an admin answer, an IM delivery's ack) waits for it first.
   */
  auditWritten(): Promise<void>;
}

/**
 * Everything a gateway plugin may use. Built once at start (createDeps in startup.ts) or by a test,
 * and passed to each plugin as its options.
 */
export interface GatewayDeps {
  /** apiKeys and adminToken are always set here: generated ones are filled in at start. */
  settings: Settings;
  store: Store;
  chat: ChatService;
  models: ModelManager;
  /** The registry served on the metrics port; channel metrics register here too. */
  registry: Registry;
  /** The gateway's own metrics (names in contract.ts METRICS), on `registry`. */
  metrics: GatewayMetrics;
  logs: Logs;
  /** What /ready checks besides the store and the model; plugins add their own. */
  readiness: ReadinessChecks;
  /** The IM messages being handled, across channels (ECS scale-in protection follows it). */
  imInFlight: MessagesInFlight;
}
