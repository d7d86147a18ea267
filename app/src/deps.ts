import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ChatService } from './chat/service';
import type { Settings } from './config';
import type { ModelManager } from './models/manager';
import type { Store } from './store/store';

/** The four log streams under `<data dir>/logs/`. */
export interface Logs {
  access: Logger;
  error: Logger;
  modelApi: Logger;
  audit: Logger;
}

/**
 * Everything a gateway plugin may use. Built once at start (main.ts) or by a test,
 * and passed to each plugin as its options.
 */
export interface GatewayDeps {
  settings: Settings;
  store: Store;
  chat: ChatService;
  models: ModelManager;
  /** The registry served on the metrics port. */
  registry: Registry;
  logs: Logs;
}
