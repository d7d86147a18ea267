import { LRUCache } from 'lru-cache';
import { isPinnedKey, type Store } from './store';

interface Entry {
  value: string | string[] | Set<string>;
  count?: number;
  /** Epoch ms; undefined never expires. */
  expiresAt?: number;
}

/** Past either bound, the least recently used entries are evicted (pinned keys never are). */
export interface MemoryStoreLimits {
  maxEntries: number;
  /** Estimated as two bytes per character of key and value, plus ENTRY_OVERHEAD_BYTES. */
  maxBytes: number;
}

export const DEFAULT_MEMORY_STORE_LIMITS: MemoryStoreLimits = { maxEntries: 100_000, maxBytes: 256 * 1024 * 1024 };

/** What the Map, the entry object and the strings' headers cost beside the characters, roughly. */
const ENTRY_OVERHEAD_BYTES = 200;

const SWEEP_INTERVAL_MS = 60_000;

function sizeOf(entry: Entry, key: string): number {
  const { value } = entry;
  const chars = typeof value === 'string' ? value.length : [...value].reduce((sum, item) => sum + item.length, 0);
  return ENTRY_OVERHEAD_BYTES + 2 * (key.length + chars);
}

/**
 * In-process store for one gateway: the embedded default when REDIS_URL is unset. Bounded in
 * entries and bytes: past either bound the least recently used entry is evicted, which costs a
 * session its history or a cached answer, never correctness. The IM inbox's records
 * (isPinnedKey) live beside the bounded part and are never evicted; the platforms' traffic over
 * their 8 h dedup window bounds them.
 *
 * An entry whose value changes is replaced, never changed in place, so the LRU recounts its
 * size. A counter's count, which its size does not include, changes in place.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly evictable: LRUCache<string, Entry>;
  private readonly pinned = new Map<string, Entry>();
  private readonly maxEntries: number;
  // Expired keys are also dropped on read; the sweep frees the ones never read again.
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();

  constructor(
    private readonly now: () => number = Date.now,
    limits: MemoryStoreLimits = DEFAULT_MEMORY_STORE_LIMITS,
  ) {
    // No `max`: lru-cache would allocate its tables for maxEntries up front (3.4 MB of an idle
    // gateway's RSS for the default 100,000); put() holds the entry bound instead.
    this.evictable = new LRUCache({ maxSize: limits.maxBytes, sizeCalculation: sizeOf });
    this.maxEntries = limits.maxEntries;
  }

  private table(key: string): LRUCache<string, Entry> | Map<string, Entry> {
    return isPinnedKey(key) ? this.pinned : this.evictable;
  }

  private live(key: string): Entry | undefined {
    const entry = this.table(key).get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.table(key).delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, entry: Entry): void {
    if (isPinnedKey(key)) {
      this.pinned.set(key, entry);
      return;
    }
    this.evictable.set(key, entry);
    if (this.evictable.size > this.maxEntries) this.evictable.pop();
  }

  private expiry(ttlSeconds?: number): number | undefined {
    return ttlSeconds ? this.now() + ttlSeconds * 1000 : undefined;
  }

  async get(key: string): Promise<string | null> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.put(key, { value, expiresAt: this.expiry(ttlSeconds) });
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.put(key, { value, expiresAt: this.expiry(ttlSeconds) });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.table(key).delete(key);
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const entry = this.live(key);
    const now = this.now();
    if (!entry) {
      this.put(key, { value: '', count: 1, expiresAt: now + windowMs });
      return { count: 1, ttlMs: windowMs };
    }
    // live() has made it the most recently used already.
    entry.count = (entry.count ?? 0) + 1;
    return { count: entry.count, ttlMs: (entry.expiresAt ?? now) - now };
  }

  async appendToList(key: string, values: string | readonly string[], maxLength: number, ttlSeconds: number): Promise<void> {
    const current = this.live(key)?.value;
    const list = [...(Array.isArray(current) ? current : []), ...(typeof values === 'string' ? [values] : values)];
    this.put(key, { value: list.slice(-maxLength), expiresAt: this.expiry(ttlSeconds) });
  }

  async readList(key: string): Promise<string[]> {
    const value = this.live(key)?.value;
    return Array.isArray(value) ? [...value] : [];
  }

  async addToSet(key: string, member: string): Promise<void> {
    const current = this.live(key)?.value;
    this.put(key, { value: new Set(current instanceof Set ? [...current, member] : [member]) });
  }

  async removeFromSet(key: string, member: string): Promise<void> {
    const current = this.live(key)?.value;
    if (current instanceof Set) this.put(key, { value: new Set([...current].filter((item) => item !== member)) });
  }

  async setMembers(key: string): Promise<string[]> {
    const current = this.live(key)?.value;
    return current instanceof Set ? [...current] : [];
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.evictable.clear();
    this.pinned.clear();
  }

  private sweep(): void {
    const now = this.now();
    for (const table of [this.evictable, this.pinned]) {
      for (const [key, entry] of [...table.entries()]) if (entry.expiresAt !== undefined && entry.expiresAt <= now) table.delete(key);
    }
  }
}
