import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SECRET_KEYS } from '../config/secret-keys';
import { PLACEHOLDERS } from './placeholders';

const ROOT = path.join(__dirname, '..', '..');

/** What a simulation sets on top of the stack file. */
export interface ConfigOverrides {
  /** Plain values that override the stack file; keys without namespace mean the project's. */
  config?: Record<string, unknown>;
  /** Secret values; keys without namespace mean the project's. */
  secrets?: Record<string, string>;
  /** Keys to leave unset, placeholders included. */
  unset?: string[];
}

interface ConfigDeclaration {
  type: 'string' | 'integer' | 'boolean' | 'array';
  default: unknown;
}

interface ConfigEntry {
  value: unknown;
  secret: boolean;
}

function readYaml(file: string): Record<string, unknown> {
  return (parse(readFileSync(path.join(ROOT, file), 'utf8')) ?? {}) as Record<string, unknown>;
}

const TYPE_CHECKS: Record<ConfigDeclaration['type'], (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  integer: (value) => Number.isInteger(typeof value === 'string' ? Number(value) : value),
  boolean: (value) => typeof value === 'boolean' || value === 'true' || value === 'false',
  array: Array.isArray,
};

/** The stacks with committed config: one Pulumi.<stack>.yaml each. */
export function listStacks(): string[] {
  return readdirSync(ROOT)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** The config the Pulumi CLI would hand the program for this stack, as PULUMI_CONFIG entries. */
export function resolveStackConfig(stack: string, options: ConfigOverrides): { config: Record<string, string>; secretKeys: string[] } {
  const project = readYaml('Pulumi.yaml') as { name: string; config: Record<string, ConfigDeclaration> };
  if (!existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))) {
    throw new Error(`no stack "${stack}": there is no Pulumi.${stack}.yaml; the stacks are ${listStacks().join(', ')}`);
  }
  const stackFile = readYaml(`Pulumi.${stack}.yaml`) as { config?: Record<string, unknown> };
  const qualify = (key: string) => (key.includes(':') ? key : `${project.name}:${key}`);
  const entries = new Map<string, ConfigEntry>();

  for (const [key, value] of Object.entries(stackFile.config ?? {})) {
    // Ciphertext (`secure:`) cannot be decrypted here; a placeholder stands in for it.
    const secure = typeof value === 'object' && value !== null && 'secure' in value;
    entries.set(key, secure ? { value: PLACEHOLDERS.secret(key), secret: true } : { value, secret: false });
  }
  for (const [key, value] of Object.entries(PLACEHOLDERS.plain)) {
    if (!entries.has(qualify(key))) entries.set(qualify(key), { value, secret: false });
  }
  for (const [key, declaration] of Object.entries(project.config)) {
    if (!entries.has(qualify(key))) entries.set(qualify(key), { value: declaration.default, secret: false });
  }
  for (const [key, { generated }] of Object.entries(SECRET_KEYS)) {
    if (!generated && !entries.has(qualify(key))) entries.set(qualify(key), { value: PLACEHOLDERS.secret(key), secret: true });
  }
  for (const [key, value] of Object.entries(options.config ?? {})) entries.set(qualify(key), { value, secret: false });
  for (const [key, value] of Object.entries(options.secrets ?? {})) entries.set(qualify(key), { value, secret: true });
  for (const key of options.unset ?? []) entries.delete(qualify(key));

  // The CLI's own check on declared keys (every one has a default; infra/config/ says which are required when).
  for (const [key, declaration] of Object.entries(project.config)) {
    const entry = entries.get(qualify(key));
    if (entry !== undefined && !TYPE_CHECKS[declaration.type](entry.value)) {
      throw new Error(`Stack '${stack}' with configuration key '${key}' must be of type '${declaration.type}'`);
    }
  }

  const config: Record<string, string> = {};
  for (const [key, { value }] of entries) config[key] = typeof value === 'string' ? value : JSON.stringify(value);
  const secretKeys = [...entries].filter(([, entry]) => entry.secret).map(([key]) => key);
  return { config, secretKeys };
}
