// Names that the bot and the infrastructure must agree on. The stack (infra/, components/)
// imports this module for its security group, CloudWatch agent config, alarms and deploy
// scripts; the bot uses it for its listeners, routes, metrics and data layout. Change a name
// here and both sides move together.

/** Ports the gateway listens on. */
export const PORTS = {
  /** Public gateway: REST, web page, IM callbacks. Opened by the security group. */
  gateway: 18789,
  /** Prometheus metrics; bound to 127.0.0.1 and scraped by the CloudWatch agent on the host. */
  metrics: 9464,
  /** TLS, terminated by Caddy on the host. Opened by the security group. */
  https: 443,
} as const;

/** HTTP routes of the gateway. */
export const ROUTES = {
  health: '/health',
  ready: '/ready',
  chatCompletions: '/v1/chat/completions',
  models: '/v1/models',
  chat: '/api/chat',
  adminModel: '/admin/model',
  dingtalkCallback: '/api/dingtalk/callback',
  feishuCallback: '/api/feishu/callback',
  /** Served on the metrics port only. */
  metrics: '/metrics',
  /** The web chat page. */
  web: '/',
} as const;

/** Layout of the data dir (CLAWDBOT_DATA_DIR; /data in the image). */
export const DATA_LAYOUT = {
  logs: 'logs',
  conversations: 'conversations',
  /** FAQ served by the rules engine. */
  faq: 'faq.json',
  /** Secrets kept by the gateway itself (mode 0700). Backups must exclude this directory. */
  secrets: 'secrets',
  /**
   * The switched model and the key given with it, in one file (0600) so that a switch is one
   * rename: a crash leaves the old pair or the new one, never a model with another's key.
   */
  modelSwitch: 'secrets/model.json',
  /** Generated gateway API key, when CLAWDBOT_API_KEYS is unset. Not backed up. */
  generatedApiKey: 'secrets/api-key',
  /** Generated admin token, when CLAWDBOT_ADMIN_TOKEN is unset. Not backed up. */
  generatedAdminToken: 'secrets/admin-token',
  /** Before modelSwitch: the switched model without its key, and the key. Read once, migrated, removed. */
  legacyModelState: 'model.json',
  legacyModelKey: 'secrets/model-api-key',
} as const;

/** Log files under `<data dir>/logs/`; the gateway rotates them itself (LOG_MAX_MB, LOG_RETENTION_DAYS). */
export const LOG_FILES = {
  access: 'access.log',
  error: 'error.log',
  modelApi: 'model_api.log',
  audit: 'audit.log',
} as const;

/** Where things live on the host. */
export const HOST_PATHS = {
  root: '/opt/clawdbot',
  /** Mounted into the bot container as /data. */
  data: '/opt/clawdbot/data',
  /**
   * The bot's log dir on the host, bind-mounted into the container at <data>/logs. Kept out of
   * the data dir so that data backups carry no logs; logrotate and the CloudWatch agent read it.
   */
  logs: '/opt/clawdbot/logs',
  releases: '/opt/clawdbot/releases',
  /** Redis's dir (AOF and RDB), bind-mounted into its container: on the data volume, and in every backup. */
  redisData: '/opt/clawdbot/redis',
  /** Host-side scripts (backup, restore, deploy steps). */
  bin: '/opt/clawdbot/bin',
  /** The env file with secrets, mode 0600. */
  envFile: '/opt/clawdbot/clawdbot.env',
  /** Settings of the backup job and the restore command (bucket, prefix, region, restore source). */
  backupEnv: '/opt/clawdbot/backup.env',
  /** The backup job, run by clawdbot-backup.timer. */
  backupCommand: '/opt/clawdbot/bin/backup',
  /** `restore [latest|<key>]`. */
  restoreCommand: '/opt/clawdbot/bin/restore',
} as const;

/**
 * How long the gateway finishes in-flight requests after SIGTERM (app/src/main.ts). A load
 * balancer drains a target at least this long, and the container's stop timeout exceeds it.
 */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Set to `true` by a tier whose replicas share one data dir (the ha tier's EFS): each replica
 * then writes conversation files of its own, so no two processes append to one file.
 */
export const SHARED_DATA_DIR_VARIABLE = 'SHARED_DATA_DIR';

/** The user (and group) id the image runs as (app/Dockerfile's USER). */
export const CONTAINER_UID = 10001;

/** Path of the data dir inside the image. */
export const CONTAINER_DATA_DIR = '/data';

/** CloudWatch namespace the agent publishes the bot's scraped metrics to. */
export const CLOUDWATCH_NAMESPACE = 'Clawdbot';

/**
 * Prometheus metric names. The CloudWatch agent scrapes these from the metrics port and
 * publishes them under CLOUDWATCH_NAMESPACE with the same names; alarms refer to them.
 */
export const METRICS = {
  /** Histogram by route and status, for Prometheus. The CloudWatch agent drops histograms... */
  httpRequestDuration: 'clawdbot_http_request_duration_seconds',
  /** ...so latency also goes out as a gauge (quantile label 0.5/0.9/0.99), derived from it, for the P99 alarm. */
  httpLatency: 'clawdbot_http_request_latency_seconds',
  httpRequests: 'clawdbot_http_requests_total',
  http5xx: 'clawdbot_http_5xx_total',
  modelCallDuration: 'clawdbot_model_call_duration_seconds',
  modelCalls: 'clawdbot_model_calls_total',
  modelFailures: 'clawdbot_model_failures_total',
  /** The "model load time": how long a hot switch took. */
  modelSwitchDuration: 'clawdbot_model_switch_duration_seconds',
  cacheHits: 'clawdbot_cache_hits_total',
  cacheMisses: 'clawdbot_cache_misses_total',
  rateLimited: 'clawdbot_rate_limited_total',
  activeSessions: 'clawdbot_active_sessions',
  modelKeyDaysToExpiry: 'clawdbot_model_key_days_to_expiry',
  channelEvents: 'clawdbot_channel_events_total',
  channelReplies: 'clawdbot_channel_replies_total',
  channelFailures: 'clawdbot_channel_failures_total',
  channelRefused: 'clawdbot_channel_refused_total',
  channelAckDuration: 'clawdbot_channel_ack_duration_seconds',
} as const;
