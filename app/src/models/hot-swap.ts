import type { Logger } from 'pino';
import type { ModelProvider, ModelSettings } from '../lib/config';
import { InputError } from '../lib/errors';
import type { GatewayMetrics } from '../observability/metrics';
import { instrument } from './instrumented';
import type { ModelManager, ModelSwitch } from './manager';
import { describe, modelChoiceSchema, sameModel, type ModelChoice, type ModelChoiceHome } from './model-choice';
import type { RemoteModelOptions } from './openai';
import type { RulesModel } from './rules';
import { ModelError, type ChatModel, type ModelDescriptor } from './types';

/** Where the key in use came from. A key given at switch time is kept with the switched model, in `secrets/`. */
type KeySource = ModelChoice['keySource'];

interface ActiveModel {
  model: ChatModel;
  settings: ModelSettings;
  keySource: KeySource;
  switchedAt?: string;
  switchedBy?: string;
}

export interface HotSwapOptions {
  /** The model from the environment (MODEL_*). */
  configured: ModelSettings;
  rules: RulesModel;
  timeoutMs: number;
  keyExpiresAt?: Date;
  /** Where the last switch's choice is kept: the data dir, or the store shared by replicas. */
  home: ModelChoiceHome;
  metrics: Pick<GatewayMetrics, 'modelCallDuration' | 'modelFailures' | 'modelSwitchDuration'>;
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

/**
 * Holds the current model and replaces it in one assignment. A request takes current() once
 * and keeps that model (its own SDK client) to the end, so neither in-flight nor new
 * requests fail across a switch. The new model answers a one-token check call before it
 * takes over; if it cannot, nothing changes.
 */
export class HotSwapModelManager implements ModelManager {
  private active: ActiveModel;
  /** Switches, and changes followed from other replicas, run one at a time, in order. */
  private switching: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: HotSwapOptions) {
    this.active = this.activate(options.configured, options.configured.apiKey ? 'configured' : 'none');
  }

  /**
   * Serves the last switch's choice, if it is still valid, else the configured model; with a
   * shared home, follows the switches made on other replicas from then on.
   */
  static async start(options: HotSwapOptions): Promise<HotSwapModelManager> {
    const manager = new HotSwapModelManager(options);
    try {
      const restored = await manager.restore();
      if (restored) manager.active = restored;
    } catch (error) {
      // Redis away at start: the configured model serves until the subscription connects and re-reads.
      options.auditLog.warn({ event: 'model_restore', outcome: 'failed', reason: (error as Error).message }, 'model choice unreadable: serving the configured model');
    }
    options.home.watch?.(() => manager.follow());
    return manager;
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

  /** Takes up the choice another replica saved, unless it is the one already served. */
  private follow(): void {
    const run = this.switching.then(async () => {
      // A choice recorded under other MODEL_* (a replica of a newer deploy) is left alone here.
      const chosen = await this.restore(false);
      if (!chosen || (chosen.switchedAt === this.active.switchedAt && sameModel(chosen.model.descriptor, this.active.model.descriptor))) return;
      const from = this.active.model.descriptor;
      this.active = chosen;
      this.options.auditLog.info({ event: 'model_switch', outcome: 'followed', from, to: chosen.model.descriptor, switchedBy: chosen.switchedBy }, 'model switched on another replica');
    });
    this.switching = run.catch((error) => {
      this.options.auditLog.warn({ event: 'model_switch', outcome: 'not_followed', reason: (error as Error).message }, 'model choice unreadable: still serving the current model');
    });
  }

  private async switchNow(request: ModelSwitch, actor: string): Promise<{ model: ModelDescriptor; durationMs: number }> {
    const startedAt = performance.now();
    if (request.apiKey && !this.options.home.keepsSwitchKeys) {
      throw new InputError(
        'apiKey: not accepted when replicas share the model choice (REDIS_URL or REDIS_SENTINELS): keys stay out of Redis, so switch on MODEL_API_KEY, which every replica has',
        'apiKey',
      );
    }
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
    await this.persist(candidate, request.apiKey);
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
    // The rules engine is no provider call: routing answers with it in-process and counts
    // its answers (chat/routing.ts), so it is not wrapped for model_api.log.
    const model =
      settings.provider === 'rules'
        ? rules
        : instrument(
            remoteModel(settings.provider, { name: settings.name, endpoint: settings.endpoint, apiKey: settings.apiKey ?? '', apiSecret: settings.apiSecret, timeoutMs }),
            metrics,
            modelApiLog,
          );
    return {
      model,
      settings,
      keySource,
      ...(switchedBy ? { switchedAt: new Date().toISOString(), switchedBy } : {}),
    };
  }

  private async persist(next: ActiveModel, newKey: string | undefined): Promise<void> {
    const choice: ModelChoice = {
      ...describe(next.settings),
      keySource: next.keySource,
      ...(newKey ? { apiKey: newKey } : {}),
      switchedAt: next.switchedAt ?? new Date().toISOString(),
      switchedBy: next.switchedBy ?? 'unknown',
      configured: describe(this.options.configured),
    };
    await this.options.home.save(choice);
  }

  /**
   * The model selected by the last switch, unless MODEL_* changed since (then the environment
   * wins, and at start the old choice is dropped) or its switch-time key is gone (a restore
   * from backup).
   */
  private async restore(dropStale = true): Promise<ActiveModel | undefined> {
    const { home, configured, auditLog } = this.options;
    const raw = await home.load();
    if (raw === undefined) return undefined;
    let state: ModelChoice;
    try {
      state = modelChoiceSchema.parse(JSON.parse(raw));
    } catch (error) {
      auditLog.warn({ event: 'model_restore', outcome: 'ignored', reason: `unreadable ${home.where}: ${(error as Error).message}` }, 'model state ignored');
      return undefined;
    }
    if (!sameModel(state.configured, describe(configured))) {
      auditLog.info({ event: 'model_restore', outcome: 'ignored', reason: 'MODEL_* changed since the last switch', state: describe(state as ModelSettings) }, 'model state ignored');
      if (dropStale) await home.discard();
      return undefined;
    }
    const apiKey = state.keySource === 'switch' ? state.apiKey : state.keySource === 'configured' ? configured.apiKey : undefined;
    if (state.provider !== 'rules' && !apiKey) {
      auditLog.warn({ event: 'model_restore', outcome: 'ignored', reason: `no key for the switched model in ${home.where}` }, 'model state ignored');
      return undefined;
    }
    const apiSecret = state.keySource === 'configured' && state.provider === configured.provider ? configured.apiSecret : undefined;
    const settings: ModelSettings = { provider: state.provider, name: state.name, endpoint: state.endpoint, apiKey, apiSecret };
    const restored = this.activate(settings, state.keySource, state.switchedBy);
    auditLog.info({ event: 'model_restore', outcome: 'ok', model: restored.model.descriptor, keySource: state.keySource }, 'model restored');
    return { ...restored, switchedAt: state.switchedAt };
  }
}
