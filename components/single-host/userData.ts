import { HOST_PATHS, PORTS, ROUTES } from '../../app/src/contract';
import { METRICS_JOB, STACK_DIMENSION, renderAgentConfig } from '../shared/cloudwatchAgent';
import { backupSettings, type BackupLocation } from '../scripts/backup-settings';
import { renderBackupUnits } from '../scripts/install-backup-timer';
import { renderEnvFile } from '../scripts/write-env';
import { renderTemplate, shellQuote, shellWords } from './template';

/** Files cloud-init writes for the CloudWatch agent. */
export const AGENT_FILES = {
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
  /** The user the deployment logs in as: in the docker group, owner of the bot's directories. */
  deployUser: string;
  backupBucket: string;
  backupPrefix: string;
  backupRetentionDays: number;
  /** systemd OnCalendar expression of the backup timer. */
  backupSchedule: string;
  /** Where restores read from, when not this host's own backups (a lost stack's, say). */
  restoreFrom?: Partial<BackupLocation>;
  appLogGroup: string;
  prometheusLogGroup: string;
}

/** The public ports, opened to publicCidrs by both the security group and ufw. */
export const PUBLIC_PORTS = [PORTS.gateway, PORTS.https] as const;

/**
 * Renders the host's cloud-init user data from components/single-host/templates/cloud-init.yaml.
 *
 * The templates' first comments still name components/userData.ts, where this file was before
 * components/ split into tiers: their text is the instance's user data, and any change to it
 * replaces the host.
 */
export function renderUserData(args: UserDataArgs): string {
  const provisionScript = renderTemplate('provision.sh', {
    sshPort: shellQuote(args.sshPort),
    sshAllowedCidrs: shellWords(args.sshAllowedCidrs),
    publicCidrs: shellWords(args.publicCidrs),
    publicPorts: shellWords(PUBLIC_PORTS),
    deployUser: shellQuote(args.deployUser),
    hostDirs: shellWords([HOST_PATHS.root, HOST_PATHS.data, HOST_PATHS.logs, HOST_PATHS.bin, HOST_PATHS.releases]),
    cloudwatchAgentUrl: shellQuote(`https://amazoncloudwatch-agent-${args.region}.s3.${args.region}.${args.dnsSuffix}`),
    cloudwatchAgentConfigPath: shellQuote(AGENT_FILES.cloudwatchAgentConfig),
  });
  const units = renderBackupUnits(args.backupSchedule);

  const userData = renderTemplate('cloud-init.yaml', {
    sshPort: args.sshPort,
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
    logsDir: HOST_PATHS.logs,
    backupEnvFile: HOST_PATHS.backupEnv,
    backupSettings: renderEnvFile(
      backupSettings({
        location: { bucket: args.backupBucket, prefix: args.backupPrefix, region: args.region },
        retentionDays: args.backupRetentionDays,
        restoreFrom: args.restoreFrom,
      }),
    ),
    backupService: units['clawdbot-backup.service'],
    backupTimer: units['clawdbot-backup.timer'],
    provisionScript,
  });

  const size = Buffer.byteLength(userData);
  if (size > USER_DATA_LIMIT_BYTES) throw new Error(`user data is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
  return userData;
}
