import { createHash } from 'node:crypto';
import type { GatewayMetrics } from '../observability/metrics';
import { normalizeText } from '../models/rules';
import type { ChatMessage, ModelDescriptor, Sampling } from '../models/types';
import type { Store } from '../store/store';

export interface CacheKeyParts {
  model: ModelDescriptor;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  sampling?: Sampling;
}

/**
 * Answers an identical normalized prompt (same history, same model and parameters, sampling
 * included) from the
 * store for CACHE_TTL_SECONDS. Normalized: case, width and spacing folded, trailing
 * punctuation dropped. A TTL of 0 turns the cache off.
 */
export class ResponseCache {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly metrics: Pick<GatewayMetrics, 'cacheHits' | 'cacheMisses'>,
  ) {}

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  key(parts: CacheKeyParts): string {
    const messages = parts.messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string'
        ? normalizeText(m.content)
        : m.content.map((p) => (p.type === 'text' ? normalizeText(p.text) : { image: p.url })),
    }));
    const { provider, name, endpoint } = parts.model;
    const digest = createHash('sha256')
      .update(JSON.stringify([provider, name, endpoint ?? '', parts.maxTokens ?? null, parts.temperature ?? null, parts.sampling ?? {}, messages]))
      .digest('base64url');
    return `cache:${digest}`;
  }

  async lookup(key: string): Promise<string | undefined> {
    const hit = await this.store.get(key);
    if (hit === null) {
      this.metrics.cacheMisses.inc();
      return undefined;
    }
    this.metrics.cacheHits.inc();
    return hit;
  }

  async save(key: string, text: string): Promise<void> {
    if (text) await this.store.set(key, text, this.ttlSeconds);
  }
}
