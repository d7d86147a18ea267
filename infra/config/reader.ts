import * as pulumi from '@pulumi/pulumi';
import { parseCidr } from './cidr';
import type { SecretKey } from './secret-keys';

/** A config value that failed validation. A RunError, so the CLI prints the message, not a stack. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
  }
}

/** The stack's environment: several sections are stricter in prod. */
export type Environment = 'dev' | 'prod';

/** Reads config keys of one namespace, failing with errors that name the full key. */
export class ConfigReader {
  private readonly config: pulumi.Config;

  constructor(namespace?: string) {
    this.config = new pulumi.Config(namespace);
  }

  fullKey(key: string): string {
    return `${this.config.name}:${key}`;
  }

  fail(key: string, problem: string): never {
    throw new ConfigError(this.fullKey(key), problem);
  }

  string(key: string): string {
    return this.config.require(key).trim();
  }

  /** Empty counts as unset: Pulumi.yaml gives optional strings the default "". */
  optionalString(key: string): string | undefined {
    const value = this.config.get(key)?.trim();
    return value ? value : undefined;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    return this.config.require<T>(key, { allowedValues: [...allowed] });
  }

  integer(key: string, min: number, max: number): number {
    const value = this.config.requireNumber(key);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.fail(key, `${value} is out of range; use a whole number from ${min} to ${max}`);
    }
    return value;
  }

  /** A list that may be empty (Pulumi.yaml's default []). */
  optionalList(key: string): unknown[] {
    const value: unknown = this.config.requireObject(key);
    if (!Array.isArray(value)) this.fail(key, 'must be a list');
    return value;
  }

  cidrs(key: string): string[] {
    const value: unknown = this.config.requireObject(key);
    if (!Array.isArray(value) || value.length === 0) this.fail(key, 'must be a non-empty list of CIDRs');
    return value.map((cidr: unknown) => {
      const parsed = typeof cidr === 'string' ? parseCidr(cidr) : undefined;
      if (parsed === undefined) {
        this.fail(key, `${JSON.stringify(cidr)} is not a valid CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32)`);
      }
      // The AWS provider refuses them too, but only halfway through `pulumi up`.
      if (parsed.hasHostBits) {
        this.fail(key, `${cidr} has host bits set; use its network address, ${parsed.network}`);
      }
      return cidr as string;
    });
  }

  url(key: string): string | undefined {
    const value = this.optionalString(key);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.fail(key, `${JSON.stringify(value)} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') this.fail(key, 'must be an http(s) URL');
    return value.replace(/\/+$/, '');
  }

  boolean(key: string): boolean {
    return this.config.requireBoolean(key);
  }

  /** Unset when empty; otherwise must match `pattern`, or fails saying what was expected. */
  optionalMatching(key: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.optionalString(key);
    if (value !== undefined && !pattern.test(value)) this.fail(key, `${JSON.stringify(value)} is not ${expected}`);
    return value;
  }

  /** The plain value is read only to check it and never leaves here unwrapped. */
  requiredSecret(key: SecretKey, check?: (value: string) => string | undefined): pulumi.Output<string> {
    const value = this.config.get(key);
    const problem = value ? check?.(value) : undefined;
    if (problem) this.fail(key, problem);
    // Pulumi's own "Missing required configuration variable" error when unset.
    return this.config.requireSecret(key);
  }

  /** The plain value is read only to check it and never leaves here unwrapped. */
  optionalSecret(key: SecretKey, check?: (value: string) => string | undefined): pulumi.Output<string> | undefined {
    const value = this.config.get(key);
    if (value === undefined || value === '') return undefined;
    const problem = check?.(value);
    if (problem) this.fail(key, problem);
    return pulumi.secret(value);
  }
}
