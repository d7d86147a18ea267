import type { Store } from './store';

interface Entry {
  value: string | string[] | Set<string>;
  count?: number;
  /** Epoch ms; undefined never expires. */
  expiresAt?: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/** In-process store for one gateway: the embedded default when REDIS_URL is unset. */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  // Expired keys are also dropped on read; the sweep bounds memory for keys never read again.
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private expiry(ttlSeconds?: number): number | undefined {
    return ttlSeconds ? this.now() + ttlSeconds * 1000 : undefined;
  }

  async get(key: string): Promise<string | null> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSeconds) });
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSeconds) });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    let entry = this.live(key);
    if (!entry) {
      entry = { value: '', count: 0, expiresAt: this.now() + windowMs };
      this.entries.set(key, entry);
    }
    entry.count = (entry.count ?? 0) + 1;
    return { count: entry.count, ttlMs: (entry.expiresAt ?? this.now()) - this.now() };
  }

  async appendToList(key: string, values: string | readonly string[], maxLength: number, ttlSeconds: number): Promise<void> {
    const current = this.live(key)?.value;
    const list = Array.isArray(current) ? current : [];
    list.push(...(typeof values === 'string' ? [values] : values));
    if (list.length > maxLength) list.splice(0, list.length - maxLength);
    this.entries.set(key, { value: list, expiresAt: this.expiry(ttlSeconds) });
  }

  async readList(key: string): Promise<string[]> {
    const value = this.live(key)?.value;
    return Array.isArray(value) ? [...value] : [];
  }

  async addToSet(key: string, member: string): Promise<void> {
    const current = this.live(key)?.value;
    if (current instanceof Set) current.add(member);
    else this.entries.set(key, { value: new Set([member]) });
  }

  async removeFromSet(key: string, member: string): Promise<void> {
    const current = this.live(key)?.value;
    if (current instanceof Set) current.delete(member);
  }

  async setMembers(key: string): Promise<string[]> {
    const current = this.live(key)?.value;
    return current instanceof Set ? [...current] : [];
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private sweep(): void {
    for (const key of this.entries.keys()) this.live(key);
  }
}
