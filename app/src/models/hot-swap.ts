import fs from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ModelProvider, ModelSettings } from '../lib/config';
import { InputError } from '../lib/errors';
import { readFileIfExists, writeFileAtomic } from '../lib/files';
import type { GatewayMetrics } from '../observability/metrics';
import { instrument } from './instrumented';
import type { ModelManager, ModelSwitch } from './manager';
import type { RemoteModelOptions } from './openai';
import type { RulesModel } from './rules';
import { ModelError, type ChatModel, type ModelDescriptor } from './types';

/** Where the key in use came from. A key given at switch time is kept with the switched model, in `secrets/`. */
type KeySource = 'configured' | 'switch' | 'none';

interface ActiveModel {
  model: ChatModel;
  settings: ModelSettings;
  keySource: KeySource;
  switchedAt?: string;
  switchedBy?: string;
}

const descriptorSchema = z.object({
  provider: z.enum(['openai', 'anthropic', 'rules']),
  name: z.string().min(1),
  endpoint: z.string().optional(),
});

/**
 * secrets/model.json (0600): the selected model, the key given with it (keySource `switch`),
 * and the configured model it replaced. One file, so one rename replaces model and key together.
 */
const stateSchema = descriptorSchema.extend({
  keySource: z.enum(['configured', 'switch', 'none']),
  apiKey: z.string().min(1).optional(),
  switchedAt: z.string(),
  switchedBy: z.string(),
  /** The MODEL_* model at the time of the switch; when the environment changes, it wins. */
  configured: descriptorSchema,
});
type PersistedState = z.infer<typeof stateSchema>;

export interface HotSwapOptions {
  /** The model from the environment (MODEL_*). */
  configured: ModelSettings;
  rules: RulesModel;
  timeoutMs: number;
  keyExpiresAt?: Date;
  /** `<data dir>/secrets/model.json` (DATA_LAYOUT.modelSwitch) */
  stateFile: string;
  /** The two files of the format before stateFile: migrated at start, then removed. */
  legacy: { stateFile: string; keyFile: string };
  metrics: Pick<GatewayMetrics, 'modelCallDuration' | 'modelCalls' | 'modelFailures' | 'modelSwitchDuration'>;
  modelApiLog: Logger;
  auditLog: Logger;
}

/**
 * An SDK-backed model. The SDKs load on first use (about 20 MB and 0.2 s), so a gateway that
 * runs on the rules engine never pays for them.
 */
function remoteModel(provider: 'openai' | 'anthropic', options: RemoteModelOptions): ChatModel {
  if (provider === 'openai') {
    const { OpenAIModel } = require('./openai') as typeof import('./openai');
    return new OpenAIModel(options);
  }
  const { AnthropicModel } = require('./anthropic') as typeof import('./anthropic');
  return new AnthropicModel(options);
}

function describe(settings: ModelSettings): ModelDescriptor {
  return { provider: settings.provider, name: settings.name, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}) };
}

/**
 * A state of the earlier format with its switch-time key added: that key lived in its own file.
 * Unreadable JSON stays as it was, for restore() to report.
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

function sameModel(a: z.infer<typeof descriptorSchema>, b: ModelDescriptor): boolean {
  return a.provider === b.provider && a.name === b.name && (a.endpoint ?? '') === (b.endpoint ?? '');
}

/**
 * Holds the current model and replaces it in one assignment. A request takes current() once
 * and keeps that model (its own SDK client) to the end, so neither in-flight nor new
 * requests fail across a switch. The new model answers a one-token check call before it
 * takes over; if it cannot, nothing changes.
 */
export class HotSwapModelManager implements ModelManager {
  private active: ActiveModel;
  private switching: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HotSwapOptions) {
    this.active = this.restore() ?? this.activate(options.configured, options.configured.apiKey ? 'configured' : 'none');
  }

  current(): ChatModel {
    return this.active.model;
  }

  status(): { model: ModelDescriptor; switchedAt?: string; switchedBy?: string; keyExpiresAt?: string } {
    const { model, keySource, switchedAt, switchedBy } = this.active;
    const keyExpiresAt = keySource === 'configured' ? this.options.keyExpiresAt?.toISOString() : undefined;
    return { model: model.descriptor, ...(switchedAt ? { switchedAt, switchedBy } : {}), ...(keyExpiresAt ? { keyExpiresAt } : {}) };
  }

  /** Switches are serialized: each one starts from the model the previous one left. */
  switch(request: ModelSwitch, actor: string): Promise<{ model: ModelDescriptor; durationMs: number }> {
    const run = this.switching.then(() => this.switchNow(request, actor));
    this.switching = run.catch(() => undefined);
    return run;
  }

  private async switchNow(request: ModelSwitch, actor: string): Promise<{ model: ModelDescriptor; durationMs: number }> {
    const startedAt = performance.now();
    const from = this.active.model.descriptor;
    const { settings, keySource } = this.resolve(request);
    const candidate = this.activate(settings, keySource, actor);
    if (settings.provider !== 'rules') {
      try {
        await candidate.model.complete({ messages: [{ role: 'user', content: 'ping' }], maxTokens: 1, temperature: 0 });
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        this.options.auditLog.warn({ event: 'model_switch', outcome: 'refused', actor, from, to: candidate.model.descriptor, reason: problem }, 'model switch refused');
        const refusal = `the new model failed its check call, still serving ${from.provider}/${from.name}: ${problem}`;
        if (error instanceof ModelError) throw new ModelError(refusal, error.status, error.code);
        if (error instanceof InputError) throw new InputError(refusal, error.param, error.code, error.statusCode);
        throw error;
      }
    }
    this.persist(candidate, request.apiKey);
    this.active = candidate;
    const durationMs = performance.now() - startedAt;
    this.options.metrics.modelSwitchDuration.observe(durationMs / 1000);
    this.options.auditLog.info(
      { event: 'model_switch', outcome: 'ok', actor, from, to: candidate.model.descriptor, keySource, durationMs: Math.round(durationMs) },
      'model switched',
    );
    return { model: candidate.model.descriptor, durationMs };
  }

  /**
   * Fills in what the request leaves out. Provider: the current one (`openai` when leaving the
   * rules engine; `--name rules` means the rules engine). Endpoint: the current one when the
   * provider stays. Key: MODEL_API_KEY, as the spec says, even when the current model runs on
   * a key given at an earlier switch (that key is dropped): a key is never carried over.
   */
  private resolve(request: ModelSwitch): { settings: ModelSettings; keySource: KeySource } {
    const current = this.active.settings;
    const configured = this.options.configured;
    const provider: ModelProvider =
      request.provider ?? (request.name === 'rules' ? 'rules' : current.provider === 'rules' ? 'openai' : current.provider);
    if (provider === 'rules') return { settings: { provider, name: 'rules' }, keySource: 'none' };

    const endpoint =
      request.endpoint ?? (provider === current.provider ? current.endpoint : provider === configured.provider ? configured.endpoint : undefined);
    if (request.apiKey) return { settings: { provider, name: request.name, endpoint, apiKey: request.apiKey }, keySource: 'switch' };
    if (!configured.apiKey) {
      throw new InputError('apiKey: required, since MODEL_API_KEY is not set', 'apiKey');
    }
    const apiSecret = provider === configured.provider ? configured.apiSecret : undefined;
    return { settings: { provider, name: request.name, endpoint, apiKey: configured.apiKey, apiSecret }, keySource: 'configured' };
  }

  private activate(settings: ModelSettings, keySource: KeySource, switchedBy?: string): ActiveModel {
    const { rules, timeoutMs, metrics, modelApiLog } = this.options;
    const model =
      settings.provider === 'rules'
        ? rules
        : remoteModel(settings.provider, { name: settings.name, endpoint: settings.endpoint, apiKey: settings.apiKey ?? '', apiSecret: settings.apiSecret, timeoutMs });
    return {
      model: instrument(model, metrics, modelApiLog),
      settings,
      keySource,
      ...(switchedBy ? { switchedAt: new Date().toISOString(), switchedBy } : {}),
    };
  }

  /** One write and one rename: a crash at any point leaves the old model and key, or the new ones. */
  private persist(next: ActiveModel, newKey: string | undefined): void {
    const { stateFile, configured } = this.options;
    const state: PersistedState = {
      ...describe(next.settings),
      keySource: next.keySource,
      ...(newKey ? { apiKey: newKey } : {}),
      switchedAt: next.switchedAt ?? new Date().toISOString(),
      switchedBy: next.switchedBy ?? 'unknown',
      configured: describe(configured),
    };
    writeFileAtomic(stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }

  /**
   * The state file's content, after moving a state of the earlier format (model.json and
   * secrets/model-api-key) into it in one write. The old files go only once the new one is in
   * place, so a crash here leaves one format or the other complete.
   */
  private readState(): string | undefined {
    const { stateFile, legacy } = this.options;
    let raw = readFileIfExists(stateFile);
    if (raw === undefined) {
      const legacyState = readFileIfExists(legacy.stateFile);
      if (legacyState === undefined) return undefined;
      raw = withLegacyKey(legacyState, readFileIfExists(legacy.keyFile));
      writeFileAtomic(stateFile, raw, 0o600);
      this.options.auditLog.info({ event: 'model_restore', outcome: 'migrated', from: [legacy.stateFile, legacy.keyFile], to: stateFile }, 'model state migrated');
    }
    fs.rmSync(legacy.stateFile, { force: true });
    fs.rmSync(legacy.keyFile, { force: true });
    return raw;
  }

  /**
   * The model selected by the last switch, unless MODEL_* changed since (then the environment
   * wins and the old state is dropped) or its switch-time key is gone (a restore from backup).
   */
  private restore(): ActiveModel | undefined {
    const { stateFile, configured, auditLog } = this.options;
    const raw = this.readState();
    if (raw === undefined) return undefined;
    let state: PersistedState;
    try {
      state = stateSchema.parse(JSON.parse(raw));
    } catch (error) {
      auditLog.warn({ event: 'model_restore', outcome: 'ignored', reason: `unreadable ${stateFile}: ${(error as Error).message}` }, 'model state ignored');
      return undefined;
    }
    if (!sameModel(state.configured, describe(configured))) {
      auditLog.info({ event: 'model_restore', outcome: 'ignored', reason: 'MODEL_* changed since the last switch', state: describe(state as ModelSettings) }, 'model state ignored');
      fs.rmSync(stateFile, { force: true });
      return undefined;
    }
    const apiKey = state.keySource === 'switch' ? state.apiKey : state.keySource === 'configured' ? configured.apiKey : undefined;
    if (state.provider !== 'rules' && !apiKey) {
      auditLog.warn({ event: 'model_restore', outcome: 'ignored', reason: `no key for the switched model in ${stateFile}` }, 'model state ignored');
      return undefined;
    }
    const apiSecret = state.keySource === 'configured' && state.provider === configured.provider ? configured.apiSecret : undefined;
    const settings: ModelSettings = { provider: state.provider, name: state.name, endpoint: state.endpoint, apiKey, apiSecret };
    const restored = this.activate(settings, state.keySource, state.switchedBy);
    auditLog.info({ event: 'model_restore', outcome: 'ok', model: restored.model.descriptor, keySource: state.keySource }, 'model restored');
    return { ...restored, switchedAt: state.switchedAt };
  }
}
