import { DNS_LABEL } from './dns';
import type { ConfigReader } from './reader';

/** The EC2 host's alarms. */
export interface MonitoringConfig {
  alarmEmail?: string;
}

/**
 * A plain address as SNS delivers to: one @, a local part without quotes, spaces or commas, and a
 * domain of DNS labels that ends in a letters-only top-level domain.
 */
function isEmailAddress(value: string): boolean {
  const [local, domain, ...extra] = value.split('@');
  if (extra.length > 0 || domain === undefined) return false;
  const labels = domain.toLowerCase().split('.');
  return (
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local) &&
    labels.length >= 2 &&
    labels.every((label) => DNS_LABEL.test(label)) &&
    /^[a-z]{2,63}$/.test(labels[labels.length - 1])
  );
}

export function readMonitoring(config: ConfigReader): MonitoringConfig {
  const alarmEmail = config.optionalString('alarmEmail');
  if (alarmEmail !== undefined && !isEmailAddress(alarmEmail)) {
    config.fail('alarmEmail', `${JSON.stringify(alarmEmail)} is not an email address`);
  }
  return { alarmEmail };
}
