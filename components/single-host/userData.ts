import { HOST_PATHS, PORTS, ROUTES } from '../../app/src/contract';
import { METRICS_JOB, STACK_DIMENSION, renderAgentConfig } from '../shared/cloudwatchAgent';
import { shellQuote, shellWords } from '../scripts/render';
import { renderTemplate } from './template';

/** Files cloud-init writes for the CloudWatch agent. */
export const AGENT_FILES = {
  cloudwatchAgentConfig: '/etc/clawdbot/cloudwatch-agent.json',
  prometheusConfig: '/etc/clawdbot/prometheus.yaml',
} as const;

/** Where cloud-init writes templates/sysctl.conf, the host's kernel settings. */
export const SYSCTL_FILE = '/etc/sysctl.d/60-clawdbot.conf';

/** EC2 refuses user data above 16 KB. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface UserDataArgs {
  stack: string;
  region: string;
  /** amazonaws.com, or amazonaws.com.cn in the China regions. */
  dnsSuffix: string;
  sshPort: number;
  /** The user the deployment logs in as: in the docker group, owner of the bot's directories. */
  deployUser: string;
  /** The EBS volume mounted at HOST_PATHS.root: everything the bot keeps outlives the instance. */
  dataVolumeId: string;
  appLogGroup: string;
  prometheusLogGroup: string;
}

/** The public ports: the security group opens them to publicCidrs, ufw to whatever the group lets through. */
export const PUBLIC_PORTS = [PORTS.gateway, PORTS.https] as const;

/**
 * Renders the host's cloud-init user data from components/single-host/templates/cloud-init.yaml.
 * It holds only what a first boot needs and what cannot change without a new host (the SSH port,
 * the data volume): the operational settings (firewall ranges, backup schedule and retention,
 * the authorized key) are applied in place by the security group and the deployment's steps.
 *
 * The templates' first comments still name components/userData.ts, where this file was before
 * components/ split into tiers: their text is the instance's user data, and any change to it
 * replaces the host.
 */
export function renderUserData(args: UserDataArgs): string {
  const provisionScript = renderTemplate('provision.sh', {
    sshPort: shellQuote(args.sshPort),
    publicPorts: shellWords(PUBLIC_PORTS),
    deployUser: shellQuote(args.deployUser),
    dataVolumeId: shellQuote(args.dataVolumeId),
    dataMount: shellQuote(HOST_PATHS.root),
    hostDirs: shellWords([HOST_PATHS.root, HOST_PATHS.data, HOST_PATHS.redisData, HOST_PATHS.logs, HOST_PATHS.bin, HOST_PATHS.releases]),
    cloudwatchAgentUrl: shellQuote(`https://amazoncloudwatch-agent-${args.region}.s3.${args.region}.${args.dnsSuffix}`),
    cloudwatchAgentConfigPath: shellQuote(AGENT_FILES.cloudwatchAgentConfig),
    sysctlFile: shellQuote(SYSCTL_FILE),
  });

  const userData = renderTemplate('cloud-init.yaml', {
    sshPort: args.sshPort,
    sysctlFile: SYSCTL_FILE,
    sysctlSettings: renderTemplate('sysctl.conf', {}),
    cloudwatchAgentConfig: renderAgentConfig({
      prometheusConfigPath: AGENT_FILES.prometheusConfig,
      prometheusLogGroup: args.prometheusLogGroup,
      appLogGroup: args.appLogGroup,
      logsDir: HOST_PATHS.logs,
    }),
    metricsJob: METRICS_JOB,
    metricsPath: ROUTES.metrics,
    metricsTarget: `127.0.0.1:${PORTS.metrics}`,
    stackLabel: STACK_DIMENSION,
    // Quoted: a stack named `on`, `yes` or `1` would otherwise reach Prometheus as a bool or number.
    stack: JSON.stringify(args.stack),
    provisionScript,
  });

  const size = Buffer.byteLength(userData);
  if (size > USER_DATA_LIMIT_BYTES) throw new Error(`user data is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
  return userData;
}
