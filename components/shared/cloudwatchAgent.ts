import { CLOUDWATCH_NAMESPACE, LOG_FILES, METRICS, ROUTES } from '../../app/src/contract';

// What the host's CloudWatch agent publishes, in one place: the agent config (rendered into
// cloud-init by the Host) and the alarms (Monitoring) both read these names, so an alarm can
// never watch a metric the agent does not send.

/** Days the bot's log groups keep their events. */
export const LOG_RETENTION_DAYS = 30;
/** Namespace of the agent's host metrics. */
export const HOST_NAMESPACE = 'CWAgent';
/** Namespace of the bot's scraped metrics. */
export const APP_NAMESPACE = CLOUDWATCH_NAMESPACE;
/** Prometheus scrape job; the agent's metric declarations match on it. */
export const METRICS_JOB = 'clawdbot';
/** Static label put on every scraped sample and published as the app metrics' dimension. */
export const STACK_DIMENSION = 'Stack';
/** The quantile of the latency gauge that the P99 alarm reads. */
export const LATENCY_QUANTILE = '0.99';

export const HOST_METRICS = {
  memoryUsedPercent: 'mem_used_percent',
  diskUsedPercent: 'disk_used_percent',
} as const;

/**
 * Root filesystem dimensions of disk_used_percent: drop_device removes the device name (it
 * changes between instance types), omit_hostname the host name; Ubuntu cloud images use ext4.
 */
export const ROOT_DISK_DIMENSIONS = { path: '/', fstype: 'ext4' } as const;

/**
 * The app metrics published per stack. Counters go out as deltas per scrape, so a metric-math
 * rate is SUM(failures) / SUM(total) over the alarm period.
 */
export const APP_METRICS = [METRICS.httpRequests, METRICS.http5xx, METRICS.modelCalls, METRICS.modelFailures, METRICS.modelKeyDaysToExpiry, METRICS.activeSessions] as const;

/**
 * The agent drops Prometheus histograms, so latency is read from the gauge the bot derives from
 * its duration histogram at each scrape, one series per quantile; only the P99 series is published.
 */
export const LATENCY_METRIC = METRICS.httpLatency;

export interface AgentConfigArgs {
  prometheusConfigPath: string;
  prometheusLogGroup: string;
  appLogGroup: string;
  logsDir: string;
}

const exactly = (names: readonly string[]) => names.map((name) => `^${name}$`);

/**
 * The agent's logs section: the bot's log files into `appLogGroup`, one stream per file under
 * `streamPrefix` (an agent placeholder such as {instance_id}), and the bot's metrics, scraped as
 * `prometheusConfigPath` says, published as EMF to APP_NAMESPACE.
 */
export function agentLogsSection(args: AgentConfigArgs, streamPrefix: string) {
  return {
    force_flush_interval: 15,
    logs_collected: {
      files: {
        collect_list: Object.values(LOG_FILES).map((file) => ({
          file_path: `${args.logsDir}/${file}`,
          log_group_name: args.appLogGroup,
          log_stream_name: `${streamPrefix}/${file}`,
        })),
      },
    },
    metrics_collected: {
      prometheus: {
        log_group_name: args.prometheusLogGroup,
        prometheus_config_path: args.prometheusConfigPath,
        emf_processor: {
          metric_namespace: APP_NAMESPACE,
          metric_declaration_dedup: true,
          metric_declaration: [
            {
              source_labels: ['job'],
              label_matcher: `^${METRICS_JOB}$`,
              dimensions: [[STACK_DIMENSION]],
              metric_selectors: exactly(APP_METRICS),
            },
            {
              source_labels: ['job', 'quantile'],
              label_matcher: `^${METRICS_JOB};${LATENCY_QUANTILE.replace('.', '\\.')}$`,
              dimensions: [[STACK_DIMENSION, 'quantile']],
              metric_selectors: exactly([LATENCY_METRIC]),
            },
          ],
        },
      },
    },
  };
}

/** amazon-cloudwatch-agent.json for the host. */
export function renderAgentConfig(args: AgentConfigArgs): string {
  const config = {
    agent: { metrics_collection_interval: 60, omit_hostname: true },
    metrics: {
      namespace: HOST_NAMESPACE,
      append_dimensions: { InstanceId: '${aws:InstanceId}' },
      metrics_collected: {
        mem: { measurement: [HOST_METRICS.memoryUsedPercent] },
        disk: { measurement: ['used_percent'], resources: [ROOT_DISK_DIMENSIONS.path], drop_device: true },
      },
    },
    logs: agentLogsSection(args, '{instance_id}'),
  };
  // Compact: user data is capped at 16 KB.
  return JSON.stringify(config);
}

/** The Prometheus scrape config of the agent: the bot's metrics port, every sample labelled with the stack. JSON, which is YAML. */
export function renderScrapeConfig(args: { target: string; stack: string }): string {
  return JSON.stringify({
    global: { scrape_interval: '60s', scrape_timeout: '10s' },
    scrape_configs: [{ job_name: METRICS_JOB, metrics_path: ROUTES.metrics, static_configs: [{ targets: [args.target], labels: { [STACK_DIMENSION]: args.stack } }] }],
  });
}
