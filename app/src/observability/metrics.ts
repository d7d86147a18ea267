import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { METRICS } from '../contract';
import { LatencyWindow } from './latency-window';

/**
 * The gateway's Prometheus metrics, on their own registry (served on METRICS_PORT only).
 * Durations are histograms (a bucket increment per observation). A request costs one
 * observation of httpRequestDuration: the request counters and the latency quantiles
 * CloudWatch alarms on (the agent drops histograms) are derived from it at scrape time.
 */
export interface GatewayMetrics {
  httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
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

/** The latency quantiles exported; the P99 alarm reads 0.99. */
const LATENCY_QUANTILES = [0.5, 0.9, 0.99];
/**
 * The shortest window the quantiles cover (see LatencyWindow): shorter than the agent's
 * one-minute scrape interval, so that each of its scrapes covers the minute since the last.
 */
const LATENCY_MIN_WINDOW_MS = 30_000;
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

  const httpRequestDuration = new Histogram({
    name: METRICS.httpRequestDuration,
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'method', 'status'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  deriveHttpMetrics(httpRequestDuration, registers);
  const modelCallDuration = new Histogram({
    name: METRICS.modelCallDuration,
    help: 'Model call duration by provider and model',
    labelNames: ['provider', 'model'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  countsOf(modelCallDuration, { name: METRICS.modelCalls, help: 'Model calls by provider and model', labelNames: ['provider', 'model'] }, registers);

  return {
    httpRequestDuration,
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

/** One label set's observations of a histogram, as prom-client's get() reports them. */
interface LabelledCount {
  labels: Partial<Record<string, string | number>>;
  value: number;
  metricName?: string;
}

/** The values of `histogram` whose metric name ends in `suffix` (`_count`, `_bucket`), per label set. */
async function valuesOf(histogram: Histogram<string>, suffix: '_count' | '_bucket'): Promise<LabelledCount[]> {
  const { name, values } = await histogram.get();
  return values.filter((value) => value.metricName === `${name}${suffix}`);
}

/**
 * A counter whose values are `histogram`'s counts, read at scrape time rather than counted again
 * per observation; it stays a counter because the CloudWatch agent drops histograms. `labelsOf`
 * maps a label set of the histogram to the counter's (undefined: not counted); label sets
 * mapped to the same one add up.
 */
function countsOf<Labels extends string>(
  histogram: Histogram<string>,
  counter: { name: string; help: string; labelNames: Labels[] },
  registers: Registry[],
  labelsOf: (labels: LabelledCount['labels']) => Partial<Record<Labels, string | number>> | undefined = (labels) => labels,
): void {
  new Counter({
    ...counter,
    registers,
    async collect() {
      const perLabels = await valuesOf(histogram, '_count');
      this.reset();
      for (const { labels, value } of perLabels) {
        const counted = labelsOf(labels);
        if (counted) this.inc(counted, value);
      }
    },
  });
}

/**
 * The request counters (by route, method and status; 5xx by route) and the latency quantiles
 * over all routes, read from the request duration histogram when the registry is scraped.
 * The quantiles are interpolated inside the histogram's buckets (see bucketQuantile), so they
 * are as fine as DURATION_BUCKETS: a P99 of 0.3 s says the 99th request took between 0.25 s
 * and 0.5 s.
 */
function deriveHttpMetrics(duration: Histogram<'route' | 'method' | 'status'>, registers: Registry[]): void {
  countsOf(duration, { name: METRICS.httpRequests, help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'] }, registers);
  countsOf(duration, { name: METRICS.http5xx, help: 'HTTP responses with a 5xx status', labelNames: ['route'] }, registers, ({ route, status }) =>
    Number(status) >= 500 ? { route } : undefined,
  );
  const window = new LatencyWindow(DURATION_BUCKETS, LATENCY_MIN_WINDOW_MS, Date.now());
  new Gauge({
    name: METRICS.httpLatency,
    help: 'HTTP request latency over all routes: quantiles of the last minute, interpolated in the duration histogram buckets',
    labelNames: ['quantile'],
    registers,
    async collect() {
      const cumulative = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
      for (const { labels, value } of await valuesOf(duration, '_bucket')) {
        const bound = labels.le === '+Inf' ? DURATION_BUCKETS.length : DURATION_BUCKETS.indexOf(labels.le as number);
        cumulative[bound] += value;
      }
      const quantiles = window.quantiles(LATENCY_QUANTILES, cumulative, Date.now());
      this.reset();
      quantiles?.forEach((value, i) => this.set({ quantile: String(LATENCY_QUANTILES[i]) }, value));
    },
  });
}
