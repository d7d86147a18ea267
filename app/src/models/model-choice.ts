import fs from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ModelSettings } from '../lib/config';
import { readFileIfExists, writeFileAtomic } from '../lib/files';
import type { ModelDescriptor } from './types';

const descriptorSchema = z.object({
  provider: z.enum(['openai', 'anthropic', 'rules']),
  name: z.string().min(1),
  endpoint: z.string().optional(),
});

/**
 * The model selected by the last switch, the key given with it (keySource `switch`; only in
 * the file home), and the configured model it replaced.
 */
export const modelChoiceSchema = descriptorSchema.extend({
  keySource: z.enum(['configured', 'switch', 'none']),
  apiKey: z.string().min(1).optional(),
  switchedAt: z.string(),
  switchedBy: z.string(),
  /** The MODEL_* model at the time of the switch; when the environment changes, it wins. */
  configured: descriptorSchema,
});
export type ModelChoice = z.infer<typeof modelChoiceSchema>;

/**
 * Where the last switch's choice is kept: a file in the data dir (one process) or the shared
 * store (replicas, models/shared-choice.ts).
 */
export interface ModelChoiceHome {
  /** Said in log lines: where the choice is. */
  readonly where: string;
  /** Whether a key given at switch time may be kept here (never in the shared store). */
  readonly keepsSwitchKeys: boolean;
  /** The kept choice as written, or undefined when there is none. */
  load(): Promise<string | undefined>;
  save(choice: ModelChoice): Promise<void>;
  discard(): Promise<void>;
  /** Calls `onChange` whenever another replica may have saved a choice (shared homes only). */
  watch?(onChange: () => void): void;
}

export function describe(settings: ModelSettings): ModelDescriptor {
  return { provider: settings.provider, name: settings.name, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}) };
}

export function sameModel(a: ModelDescriptor, b: ModelDescriptor): boolean {
  return a.provider === b.provider && a.name === b.name && (a.endpoint ?? '') === (b.endpoint ?? '');
}

/**
 * A state of the earlier format with its switch-time key added: that key lived in its own file.
 * Unreadable JSON stays as it was, for the manager to report.
 */
function withLegacyKey(legacyState: string, legacyKey: string | undefined): string {
  try {
    const state = JSON.parse(legacyState) as Record<string, unknown>;
    const apiKey = state.keySource === 'switch' && legacyKey ? { apiKey: legacyKey } : {};
    return `${JSON.stringify({ ...state, ...apiKey }, null, 2)}\n`;
  } catch {
    return legacyState;
  }
}

/**
 * secrets/model.json (0600): one file, so one rename replaces model and key together, and a
 * crash at any point leaves the old model and key, or the new ones.
 */
export class FileModelChoice implements ModelChoiceHome {
  readonly keepsSwitchKeys = true;

  constructor(
    private readonly stateFile: string,
    /** The two files of the format before stateFile: migrated at start, then removed. */
    private readonly legacy: { stateFile: string; keyFile: string },
    private readonly auditLog: Logger,
  ) {}

  get where(): string {
    return this.stateFile;
  }

  /**
   * The file's content, after moving a state of the earlier format (model.json and
   * secrets/model-api-key) into it in one write. The old files go only once the new one is in
   * place, so a crash here leaves one format or the other complete.
   */
  async load(): Promise<string | undefined> {
    const { stateFile, legacy } = this;
    let raw = readFileIfExists(stateFile);
    if (raw === undefined) {
      const legacyState = readFileIfExists(legacy.stateFile);
      if (legacyState === undefined) return undefined;
      raw = withLegacyKey(legacyState, readFileIfExists(legacy.keyFile));
      writeFileAtomic(stateFile, raw, 0o600);
      this.auditLog.info({ event: 'model_restore', outcome: 'migrated', from: [legacy.stateFile, legacy.keyFile], to: stateFile }, 'model state migrated');
    }
    fs.rmSync(legacy.stateFile, { force: true });
    fs.rmSync(legacy.keyFile, { force: true });
    return raw;
  }

  async save(choice: ModelChoice): Promise<void> {
    writeFileAtomic(this.stateFile, `${JSON.stringify(choice, null, 2)}\n`, 0o600);
  }

  async discard(): Promise<void> {
    fs.rmSync(this.stateFile, { force: true });
  }
}
