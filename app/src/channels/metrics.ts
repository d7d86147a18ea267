import { Counter, type Registry, Summary } from 'prom-client';
import { METRICS } from '../contract';

type Labels = 'channel' | 'outcome';

/** The channel metrics, each labelled by channel (dingtalk, feishu) and outcome. */
export interface ChannelMetrics {
  /** Deliveries that passed verification; outcome: accepted, duplicate, ignored, event. */
  events: Counter<Labels>;
  /** Messages answered; outcome: how the answer went out (webhook, openapi, reply). */
  replies: Counter<Labels>;
  /** outcome: answer (an apology went out instead), send (delivery given up), store (delivery not taken). */
  failures: Counter<Labels>;
  /** Refused deliveries; outcome: the reason (bad_signature, stale_timestamp, wrong_token, ...). */
  refused: Counter<Labels>;
  /**
   * From receipt to acknowledgement; outcome as in events, or refused. A summary (quantiles of
   * the last 5 minutes) because the CloudWatch agent drops histograms.
   */
  ackDuration: Summary<Labels>;
}

function counter(registry: Registry, name: string, help: string): Counter<Labels> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<Labels>;
  return new Counter({ name, help, labelNames: ['channel', 'outcome'], registers: [registry] });
}

/** Registers the channel metrics on the gateway's registry, or returns those already there. */
export function channelMetrics(registry: Registry): ChannelMetrics {
  const existingAck = registry.getSingleMetric(METRICS.channelAckDuration) as Summary<Labels> | undefined;
  return {
    events: counter(registry, METRICS.channelEvents, 'IM deliveries that passed verification, by channel and outcome'),
    replies: counter(registry, METRICS.channelReplies, 'IM messages answered, by channel and delivery path'),
    failures: counter(registry, METRICS.channelFailures, 'IM messages whose answer failed, by channel and stage'),
    refused: counter(registry, METRICS.channelRefused, 'IM callbacks refused, by channel and reason'),
    ackDuration:
      existingAck ??
      new Summary({
        name: METRICS.channelAckDuration,
        help: 'Time from receiving an IM delivery to acknowledging it, in seconds, as quantiles of the last 5 minutes',
        labelNames: ['channel', 'outcome'],
        percentiles: [0.5, 0.9, 0.99],
        maxAgeSeconds: 300,
        ageBuckets: 5,
        registers: [registry],
      }),
  };
}
