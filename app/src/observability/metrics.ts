import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { METRICS } from '../contract';

/**
 * The gateway's Prometheus metrics, on their own registry (served on METRICS_PORT only).
 * Durations are histograms (a bucket increment per observation). The one latency CloudWatch
 * alarms on is also a Summary, because the CloudWatch agent keeps counters, gauges and
 * summaries but drops histograms.
 */
export interface GatewayMetrics {
  httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  httpLatency: Summary<string>;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  http5xx: Counter<'route'>;
  /** Its count per label set is also exported as the model call counter (METRICS.modelCalls). */
  modelCallDuration: Histogram<'provider' | 'model'>;
  modelFailures: Counter<'provider' | 'model' | 'reason'>;
  modelSwitchDuration: Summary<string>;
  cacheHits: Counter<string>;
  cacheMisses: Counter<string>;
  rateLimited: Counter<'scope'>;
  activeSessions: Gauge<string>;
}

export interface MetricSources {
  /** Sessions with a turn in the last ACTIVE_SESSION_WINDOW (this process's view). */
  activeSessions(): number;
  /** MODEL_KEY_EXPIRES_AT; without it the days-to-expiry gauge is not exported at all. */
  modelKeyExpiresAt?: Date;
}

/**
 * The latency summary's window: quantiles of the last one to two minutes. Every observation
 * goes into each age bucket's t-digest, so two buckets cost two digest updates per request
 * (five over five minutes cost a tenth of the gateway's CPU). The agent scrapes every minute,
 * so each datapoint of the P99 alarm reflects that minute, not a spike up to five minutes old.
 */
const LATENCY_WINDOW = { maxAgeSeconds: 120, ageBuckets: 2 };
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DAY_MS = 86_400_000;

export function createMetrics(registry: Registry, sources: MetricSources): GatewayMetrics {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  if (sources.modelKeyExpiresAt) {
    const expiresAt = sources.modelKeyExpiresAt.getTime();
    new Gauge({
      name: METRICS.modelKeyDaysToExpiry,
      help: 'Days until MODEL_KEY_EXPIRES_AT (negative once expired)',
      registers,
      collect() {
        this.set(Math.floor(((expiresAt - Date.now()) / DAY_MS) * 100) / 100);
      },
    });
  }

  const modelCallDuration = new Histogram({
    name: METRICS.modelCallDuration,
    help: 'Model call duration by provider and model',
    labelNames: ['provider', 'model'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  // The call counter is the histogram's count, read at scrape time rather than counted again
  // per call; it stays a counter because the CloudWatch agent drops histograms.
  new Counter({
    name: METRICS.modelCalls,
    help: 'Model calls by provider and model',
    labelNames: ['provider', 'model'],
    registers,
    async collect() {
      this.reset();
      for (const { metricName, labels, value } of (await modelCallDuration.get()).values) {
        if (metricName === `${METRICS.modelCallDuration}_count`) this.inc(labels as Record<'provider' | 'model', string>, value);
      }
    },
  });

  return {
    httpRequestDuration: new Histogram({
      name: METRICS.httpRequestDuration,
      help: 'HTTP request duration by route and status',
      labelNames: ['route', 'method', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    httpLatency: new Summary({
      name: METRICS.httpLatency,
      help: 'HTTP request latency over all routes, as quantiles of the last one to two minutes',
      percentiles: [0.5, 0.9, 0.99],
      ...LATENCY_WINDOW,
      registers,
    }),
    httpRequests: new Counter({
      name: METRICS.httpRequests,
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    http5xx: new Counter({
      name: METRICS.http5xx,
      help: 'HTTP responses with a 5xx status',
      labelNames: ['route'],
      registers,
    }),
    modelCallDuration,
    modelFailures: new Counter({
      name: METRICS.modelFailures,
      help: 'Failed model calls by provider, model and reason (error, timeout)',
      labelNames: ['provider', 'model', 'reason'],
      registers,
    }),
    modelSwitchDuration: new Summary({
      name: METRICS.modelSwitchDuration,
      help: 'Model load time: how long a hot switch took, check call included',
      percentiles: [0.5, 0.99],
      registers,
    }),
    cacheHits: new Counter({ name: METRICS.cacheHits, help: 'Response cache hits', registers }),
    cacheMisses: new Counter({ name: METRICS.cacheMisses, help: 'Response cache misses', registers }),
    rateLimited: new Counter({
      name: METRICS.rateLimited,
      help: 'Requests refused with 429, by scope (key, ip)',
      labelNames: ['scope'],
      registers,
    }),
    activeSessions: new Gauge({
      name: METRICS.activeSessions,
      help: 'Sessions with a turn in the last 15 minutes',
      registers,
      collect() {
        this.set(sources.activeSessions());
      },
    }),
  };
}
