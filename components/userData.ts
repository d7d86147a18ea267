import { HOST_PATHS, PORTS, ROUTES } from '../app/src/contract';
import { METRICS_JOB, STACK_DIMENSION, renderAgentConfig } from './cloudwatchAgent';
import { renderTemplate, shellQuote, shellWords } from './template';

/** Files cloud-init writes that other parts of the stack (the deployment's scripts) rely on. */
export const HOST_FILES = {
  /** BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_RETENTION_DAYS, AWS_REGION for the backup job. */
  backupEnv: `${HOST_PATHS.root}/backup.env`,
  /** The backup job the timer runs; installed by the deployment. */
  backupCommand: `${HOST_PATHS.bin}/backup`,
  cloudwatchAgentConfig: '/etc/clawdbot/cloudwatch-agent.json',
  prometheusConfig: '/etc/clawdbot/prometheus.yaml',
} as const;

/** EC2 refuses user data above 16 KB. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface UserDataArgs {
  stack: string;
  region: string;
  /** amazonaws.com, or amazonaws.com.cn in the China regions. */
  dnsSuffix: string;
  sshPort: number;
  sshAllowedCidrs: string[];
  publicCidrs: string[];
  backupBucket: string;
  backupPrefix: string;
  backupRetentionDays: number;
  /** systemd OnCalendar expression of the backup timer. */
  backupSchedule?: string;
  appLogGroup: string;
  prometheusLogGroup: string;
}

/** The public ports, opened to publicCidrs by both the security group and ufw. */
export const PUBLIC_PORTS = [PORTS.gateway, PORTS.https] as const;

/** Renders the host's cloud-init user data from components/templates/cloud-init.yaml. */
export function renderUserData(args: UserDataArgs): string {
  const backupSchedule = args.backupSchedule ?? 'daily';
  if (!/^[\w*:\-., /~]+$/.test(backupSchedule)) throw new Error(`backupSchedule ${JSON.stringify(backupSchedule)} is not a systemd OnCalendar expression`);

  const provisionScript = renderTemplate('provision.sh', {
    sshPort: shellQuote(args.sshPort),
    sshAllowedCidrs: shellWords(args.sshAllowedCidrs),
    publicCidrs: shellWords(args.publicCidrs),
    publicPorts: shellWords(PUBLIC_PORTS),
    hostDirs: shellWords([HOST_PATHS.root, HOST_PATHS.data, HOST_PATHS.logs, HOST_PATHS.bin]),
    cloudwatchAgentUrl: shellQuote(`https://amazoncloudwatch-agent-${args.region}.s3.${args.region}.${args.dnsSuffix}`),
    cloudwatchAgentConfigPath: shellQuote(HOST_FILES.cloudwatchAgentConfig),
  });

  const userData = renderTemplate('cloud-init.yaml', {
    sshPort: args.sshPort,
    cloudwatchAgentConfig: renderAgentConfig({
      prometheusConfigPath: HOST_FILES.prometheusConfig,
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
    logsDir: HOST_PATHS.logs,
    backupEnvFile: HOST_FILES.backupEnv,
    backupBucket: args.backupBucket,
    backupPrefix: args.backupPrefix,
    backupRetentionDays: args.backupRetentionDays,
    region: args.region,
    backupCommand: HOST_FILES.backupCommand,
    backupSchedule,
    provisionScript,
  });

  const size = Buffer.byteLength(userData);
  if (size > USER_DATA_LIMIT_BYTES) throw new Error(`user data is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
  return userData;
}
