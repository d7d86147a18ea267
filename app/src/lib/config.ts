import { z } from 'zod';
import { PORTS } from '../contract';
import { channelSettingsSchema } from '../channels/settings';
import type { MessageLimits } from '../chat/limits';
import type { LogRetention } from '../observability/log-rotation';
import { DEFAULT_MEMORY_STORE_LIMITS, type MemoryStoreLimits } from '../store/memory';
import type { RedisTarget } from '../store/redis';
import { dataDirFrom } from './data-dir';
import { emptyAsUndefined, firstProblem, optionalString } from './validation';

/** A setting that failed validation; the message names the environment variable. */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const MEBIBYTE = 1024 * 1024;

// 0 picks a free port (tests; the listening line says which).
const port = z.coerce.number().int().min(0).max(65535);
/** A comma-separated list, each item trimmed and checked; unset is an empty list. */
const commaSeparated = (item: z.ZodType<string>) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item).default([]));
const apiKeys = commaSeparated(z.string().min(16, 'each key needs at least 16 characters'));
const proxyAddresses = commaSeparated(
  z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], {
    error: (issue) => `"${String(issue.input)}" is not an IP address or a CIDR range (such as 172.30.0.1 or 10.0.0.0/8)`,
  }),
);

// Keys are the environment variable names, so a zod issue path is the variable to blame.
const envSchema = z.object({
  PORT: port.default(PORTS.gateway),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_PORT: port.default(PORTS.metrics),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  CLAWDBOT_API_KEYS: apiKeys,
  CLAWDBOT_ADMIN_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'needs at least 16 characters').optional()),
  MODEL_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['openai', 'anthropic', 'rules']).optional()),
  MODEL_NAME: optionalString,
  MODEL_ENDPOINT: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  MODEL_API_KEY: optionalString,
  MODEL_API_SECRET: optionalString,
  MODEL_KEY_EXPIRES_AT: z.preprocess(emptyAsUndefined, z.iso.date().or(z.iso.datetime({ offset: true })).optional()),
  MODEL_TIMEOUT_SECONDS: z.coerce.number().positive().max(600).default(120),
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().positive().max(600).default(30),
  // Unset: the client's value, or else the provider's default, as with OpenAI's own API.
  MAX_TOKENS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1_000_000).optional()),
  TEMPERATURE: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(2).optional()),
  ROUTING: z.enum(['hybrid', 'llm']).default('hybrid'),
  RATE_LIMIT_QPS: z.coerce.number().positive().default(50),
  TRUST_PROXY: proxyAddresses,
  REDIS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^rediss?$/ }).optional()),
  REDIS_SENTINELS: commaSeparated(
    z.string().regex(/^[^\s:,]+:\d{1,5}$/, { error: (issue) => `"${String(issue.input)}" is not host:port (such as 10.0.0.5:26379)` }),
  ),
  REDIS_SENTINEL_NAME: optionalString,
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(3600),
  MAX_MESSAGE_CHARS: z.coerce.number().int().min(1).default(16_000),
  MAX_HISTORY_CHARS: z.coerce.number().int().min(1).default(48_000),
  CONVERSATION_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  CONVERSATION_LOG_MAX_MB: z.coerce.number().positive().default(1024),
  SHARED_DATA_DIR: z.enum(['true', 'false']).default('false'),
  MEMORY_STORE_MAX_ENTRIES: z.coerce.number().int().min(100).default(DEFAULT_MEMORY_STORE_LIMITS.maxEntries),
  MEMORY_STORE_MAX_MB: z.coerce.number().positive().default(DEFAULT_MEMORY_STORE_LIMITS.maxBytes / MEBIBYTE),
  LOG_MAX_MB: z.coerce.number().positive().default(256),
  LOG_RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
  // Set by ECS in every task; the task's scale-in protection endpoint lives under it.
  ECS_AGENT_URI: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ModelProvider = 'openai' | 'anthropic' | 'rules';

export interface ModelSettings {
  provider: ModelProvider;
  name: string;
  endpoint?: string;
  apiKey?: string;
  apiSecret?: string;
}

export interface Settings {
  port: number;
  host: string;
  metricsPort: number;
  metricsHost: string;
  dataDir: string;
  /** Undefined means: generate one on first start and keep it in the data dir. */
  apiKeys?: string[];
  adminToken?: string;
  model: ModelSettings;
  modelKeyExpiresAt?: Date;
  /** One model call's budget, retries included; for a stream, until it opens and then between chunks. */
  modelTimeoutMs: number;
  /** From a request's first byte to the last byte of its body; a slower client gets 408. */
  requestTimeoutMs: number;
  /** The answer length when a request sets none, and the most one may ask for; unset: no limit of ours. */
  maxTokens?: number;
  /** The temperature when a request sets none; unset: the provider's default. */
  temperature?: number;
  routing: 'hybrid' | 'llm';
  rateLimitQps: number;
  /**
   * Proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client. Empty: trust
   * nobody, and the client is the connection's peer.
   */
  trustProxy: string[];
  /** Unset: the in-memory store. */
  redis?: RedisTarget;
  cacheTtlSeconds: number;
  /** What one message may carry and one model call may see. */
  limits: MessageLimits;
  /** Conversation files older than this many days are deleted. */
  conversationRetentionDays: number;
  /** The conversation files together; over it the oldest days go first. */
  conversationLogMaxBytes: number;
  /** Replicas share the data dir (SHARED_DATA_DIR): each writes conversation files of its own. */
  sharedDataDir: boolean;
  /** Bounds of the in-memory store (no REDIS_URL): past either, the least recently used entries go. */
  memoryStore: MemoryStoreLimits;
  logLevel: string;
  /** What each file under logs/ keeps, rotated ones included. */
  logRetention: LogRetention;
  /** On ECS: scale-in protection is set here while IM messages are in flight. */
  ecsAgentUri?: string;
  channels: z.infer<typeof channelSettingsSchema>;
}

const DEFAULT_MODEL_NAMES: Record<ModelProvider, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-sonnet-4-6',
  rules: 'rules',
};

/** The variable to blame is the top of the issue's path: the schema's keys are variable names. */
function configError(error: z.ZodError): ConfigError {
  const { path, message } = firstProblem(error);
  return new ConfigError(String(path[0] ?? 'environment'), message);
}

function redisTarget(url: string | undefined, sentinels: string[], primaryName: string | undefined): RedisTarget | undefined {
  if (url) return { url };
  if (sentinels.length === 0 || !primaryName) return undefined;
  return {
    sentinels: sentinels.map((sentinel) => {
      const at = sentinel.lastIndexOf(':');
      return { host: sentinel.slice(0, at), port: Number(sentinel.slice(at + 1)) };
    }),
    primaryName,
  };
}

/** Reads and validates the gateway's settings; throws ConfigError naming the bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error);
  const channels = channelSettingsSchema.safeParse(env);
  if (!channels.success) throw configError(channels.error);
  const e = parsed.data;

  if (e.MAX_HISTORY_CHARS < e.MAX_MESSAGE_CHARS) {
    throw new ConfigError('MAX_HISTORY_CHARS', `must be at least MAX_MESSAGE_CHARS (${e.MAX_MESSAGE_CHARS}): the newest message is always sent whole`);
  }

  if (e.REDIS_SENTINELS.length > 0 && e.REDIS_URL) {
    throw new ConfigError('REDIS_SENTINELS', 'set either REDIS_URL or REDIS_SENTINELS, not both');
  }
  if (e.REDIS_SENTINELS.length > 0 && !e.REDIS_SENTINEL_NAME) {
    throw new ConfigError('REDIS_SENTINEL_NAME', 'required with REDIS_SENTINELS: the name Sentinel monitors the primary under (such as mymaster)');
  }

  const provider: ModelProvider = e.MODEL_PROVIDER ?? (e.MODEL_API_KEY ? 'openai' : 'rules');
  if (provider !== 'rules' && !e.MODEL_API_KEY) {
    throw new ConfigError('MODEL_API_KEY', `required when MODEL_PROVIDER is ${provider}`);
  }

  return {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    dataDir: dataDirFrom(env, cwd),
    apiKeys: e.CLAWDBOT_API_KEYS.length ? e.CLAWDBOT_API_KEYS : undefined,
    adminToken: e.CLAWDBOT_ADMIN_TOKEN,
    model: {
      provider,
      name: e.MODEL_NAME ?? DEFAULT_MODEL_NAMES[provider],
      endpoint: e.MODEL_ENDPOINT,
      apiKey: e.MODEL_API_KEY,
      apiSecret: e.MODEL_API_SECRET,
    },
    modelKeyExpiresAt: e.MODEL_KEY_EXPIRES_AT ? new Date(e.MODEL_KEY_EXPIRES_AT) : undefined,
    modelTimeoutMs: Math.round(e.MODEL_TIMEOUT_SECONDS * 1000),
    requestTimeoutMs: Math.round(e.REQUEST_TIMEOUT_SECONDS * 1000),
    maxTokens: e.MAX_TOKENS,
    temperature: e.TEMPERATURE,
    routing: e.ROUTING,
    rateLimitQps: e.RATE_LIMIT_QPS,
    trustProxy: e.TRUST_PROXY,
    redis: redisTarget(e.REDIS_URL, e.REDIS_SENTINELS, e.REDIS_SENTINEL_NAME),
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    limits: { maxMessageChars: e.MAX_MESSAGE_CHARS, maxHistoryChars: e.MAX_HISTORY_CHARS },
    conversationRetentionDays: e.CONVERSATION_RETENTION_DAYS,
    conversationLogMaxBytes: Math.round(e.CONVERSATION_LOG_MAX_MB * MEBIBYTE),
    sharedDataDir: e.SHARED_DATA_DIR === 'true',
    memoryStore: { maxEntries: e.MEMORY_STORE_MAX_ENTRIES, maxBytes: Math.round(e.MEMORY_STORE_MAX_MB * MEBIBYTE) },
    logLevel: e.LOG_LEVEL,
    logRetention: { maxBytes: Math.round(e.LOG_MAX_MB * MEBIBYTE), retentionDays: e.LOG_RETENTION_DAYS },
    ecsAgentUri: e.ECS_AGENT_URI,
    channels: channels.data,
  };
}
