/**
 * The one storage abstraction behind sessions, the response cache, rate limits and IM dedup.
 * Two implementations: in-memory (single process) and Redis (shared across replicas).
 * Keys are namespaced by the caller (`session:`, `cache:`, `rl:`, `dedup:` ...).
 *
 * A store that cannot be reached fails fast with StoreUnavailableError: callers never wait
 * for it to come back.
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
  /**
   * Appends one value, or several in one atomic step (no other append lands between them),
   * keeps only the newest maxLength items and refreshes the list's TTL.
   */
  appendToList(key: string, values: string | readonly string[], maxLength: number, ttlSeconds: number): Promise<void>;
  readList(key: string): Promise<string[]>;
  /** Adds a member to a set (no TTL: members stay until removed). */
  addToSet(key: string, member: string): Promise<void>;
  removeFromSet(key: string, member: string): Promise<void>;
  /** The set's members, in no particular order; [] for a set never written. */
  setMembers(key: string): Promise<string[]>;
  /** Resolves when the store is usable; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Keys that are never evicted, by the bounded memory store or by Redis under maxmemory: the IM
 * inbox's dedup records, leases and unfinished index (channels/inbox.ts). Evicting one could
 * answer a message twice or never. Every other key may be evicted: a session loses its
 * history, a cached answer is asked again, a rate-limit window starts over.
 */
export function isPinnedKey(key: string): boolean {
  return /^(dedup|lease|unfinished):/.test(key);
}

/**
 * The store could not be reached, or did not answer in time. Requests that needed it answer
 * 503 `store_unavailable` with Retry-After; nothing waits for the store to come back.
 */
export class StoreUnavailableError extends Error {
  constructor(kind: Store['kind'], cause: unknown) {
    super(`the ${kind} store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
