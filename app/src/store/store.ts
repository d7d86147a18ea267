/**
 * The one storage abstraction behind sessions, the response cache, rate limits and IM dedup.
 * Two implementations: in-memory (single process) and Redis (shared across replicas).
 * Keys are namespaced by the caller (`session:`, `cache:`, `rl:`, `dedup:` ...).
 */
export interface Store {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  /** ttlSeconds 0 or omitted keeps the value until deleted. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets the value only if the key is absent; true when this call set it (dedup, locks). */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Fixed-window counter: adds one and returns the count and the ms left in the window. */
  increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
  /** Appends to a list, keeps only the newest maxLength items and refreshes the list's TTL. */
  appendToList(key: string, value: string, maxLength: number, ttlSeconds: number): Promise<void>;
  readList(key: string): Promise<string[]>;
  /** Resolves when the store is usable; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
