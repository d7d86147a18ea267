/**
 * The q-quantile of a histogram's observations, from its cumulative bucket counts
 * (`cumulative[i]` observations at most `bounds[i]`; one more entry, for +Inf, holds the
 * total), by linear interpolation inside the bucket the rank falls in, as Prometheus's
 * histogram_quantile does: the first bucket starts at 0, and a rank in the +Inf bucket gives
 * the highest finite bound. Undefined without observations; `q` is in (0, 1].
 */
export function bucketQuantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number | undefined {
  const total = cumulative[bounds.length];
  if (!total) return undefined;
  const rank = q * total;
  const bucket = cumulative.findIndex((count) => count >= rank);
  if (bucket === bounds.length) return bounds[bounds.length - 1];
  const lower = bucket === 0 ? 0 : bounds[bucket - 1];
  const below = bucket === 0 ? 0 : cumulative[bucket - 1];
  const inBucket = cumulative[bucket] - below;
  return lower + ((bounds[bucket] - lower) * (rank - below)) / inBucket;
}

/** Cumulative bucket counts, as bucketQuantile takes them, at one scrape. */
interface Snapshot {
  at: number;
  cumulative: readonly number[];
}

/**
 * Quantiles of a histogram's recent observations, computed at scrape time, so that recording a
 * request costs one histogram observation instead of a t-digest update per age bucket. The
 * window runs from a snapshot taken at a scrape at least `minWindowMs` old to now: with the
 * CloudWatch agent scraping every minute, each scrape covers the minute since the one before,
 * and a scrape in between (an operator's curl) takes no requests away from the agent's next one.
 */
export class LatencyWindow {
  private windowStart: Snapshot;
  private latest: Snapshot;

  constructor(
    private readonly bounds: readonly number[],
    private readonly minWindowMs: number,
    now: number,
  ) {
    this.windowStart = this.latest = { at: now, cumulative: new Array<number>(bounds.length + 1).fill(0) };
  }

  /**
   * The quantiles `qs` of the observations in the window, given the histogram's cumulative
   * counts since start (`cumulative`, as bucketQuantile takes them) at `now`; undefined when the
   * window holds none.
   */
  quantiles(qs: readonly number[], cumulative: readonly number[], now: number): number[] | undefined {
    if (now - this.latest.at >= this.minWindowMs) {
      this.windowStart = this.latest;
      this.latest = { at: now, cumulative };
    }
    const start = this.windowStart.cumulative;
    const inWindow = cumulative.map((count, i) => count - start[i]);
    if (inWindow[this.bounds.length] === 0) return undefined;
    return qs.map((q) => bucketQuantile(q, this.bounds, inWindow) as number);
  }
}
