/**
 * The behaviour every Store implementation shares, as one jest suite run against each:
 * test/app/store-memory.test.ts (in-process) and test/system/redis-store.test.ts (a real
 * redis-server). `advance(ms)` lets time pass: a fake clock for memory, real waiting for Redis.
 */
import type { Store } from '../../app/src/store/store';

export interface StoreUnderTest {
  store: Store;
  advance(ms: number): Promise<void>;
}

let unique = 0;

export function describeStoreContract(name: string, create: () => Promise<StoreUnderTest>): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    let advance: (ms: number) => Promise<void>;
    // Fresh keys per test, so one store instance can serve the whole suite.
    let key: (suffix: string) => string;
    beforeEach(async () => {
      ({ store, advance } = await create());
      const prefix = `contract:${process.pid}:${++unique}`;
      key = (suffix) => `${prefix}:${suffix}`;
    });
    afterEach(() => store.close());

    it('gets what was set, null for what was not, and nothing after delete', async () => {
      expect(await store.get(key('a'))).toBeNull();
      await store.set(key('a'), 'one');
      await store.set(key('a'), 'two');
      expect(await store.get(key('a'))).toBe('two');
      await store.delete(key('a'));
      expect(await store.get(key('a'))).toBeNull();
      await store.delete(key('never-set'));
    });

    it('expires a value after its TTL, and keeps one without', async () => {
      await store.set(key('short'), 'x', 1);
      await store.set(key('forever'), 'y');
      await store.set(key('zero'), 'z', 0);
      expect(await store.get(key('short'))).toBe('x');
      await advance(1100);
      expect(await store.get(key('short'))).toBeNull();
      expect(await store.get(key('forever'))).toBe('y');
      expect(await store.get(key('zero'))).toBe('z');
    });

    it('setIfAbsent sets once, then again only after expiry', async () => {
      expect(await store.setIfAbsent(key('lock'), 'first', 1)).toBe(true);
      expect(await store.setIfAbsent(key('lock'), 'second', 1)).toBe(false);
      expect(await store.get(key('lock'))).toBe('first');
      await advance(1100);
      expect(await store.setIfAbsent(key('lock'), 'third', 1)).toBe(true);
      expect(await store.get(key('lock'))).toBe('third');
    });

    it('setIfAbsent lets exactly one of many concurrent callers win', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(key('race'), String(i), 10)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('increment counts within a fixed window and starts over after it', async () => {
      const first = await store.increment(key('counter'), 500);
      expect(first.count).toBe(1);
      expect(first.ttlMs).toBeGreaterThan(0);
      expect(first.ttlMs).toBeLessThanOrEqual(500);
      expect((await store.increment(key('counter'), 500)).count).toBe(2);
      expect((await store.increment(key('other'), 500)).count).toBe(1);
      await advance(600);
      expect((await store.increment(key('counter'), 500)).count).toBe(1);
    });

    it('increment is atomic under concurrency', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.increment(key('busy'), 10_000)));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('keeps the newest maxLength list items, in order', async () => {
      expect(await store.readList(key('list'))).toEqual([]);
      for (const item of ['1', '2', '3', '4', '5']) await store.appendToList(key('list'), item, 3, 60);
      expect(await store.readList(key('list'))).toEqual(['3', '4', '5']);
    });

    it('appends several values at once, trimmed to maxLength like single ones', async () => {
      await store.appendToList(key('pairs'), ['1', '2'], 3, 60);
      await store.appendToList(key('pairs'), ['3', '4'], 3, 60);
      expect(await store.readList(key('pairs'))).toEqual(['2', '3', '4']);
    });

    it('never interleaves the values of concurrent multi-value appends', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToList(key('turns'), [`user ${i}`, `assistant ${i}`], 100, 60)));
      const list = await store.readList(key('turns'));
      expect(list).toHaveLength(40);
      for (let i = 0; i < list.length; i += 2) expect(list[i + 1]).toBe(list[i].replace('user', 'assistant'));
    });

    it('keeps set members until they are removed', async () => {
      expect(await store.setMembers(key('set'))).toEqual([]);
      await store.addToSet(key('set'), 'a');
      await store.addToSet(key('set'), 'b');
      await store.addToSet(key('set'), 'a');
      expect((await store.setMembers(key('set'))).sort()).toEqual(['a', 'b']);
      await store.removeFromSet(key('set'), 'a');
      await store.removeFromSet(key('set'), 'never-added');
      expect(await store.setMembers(key('set'))).toEqual(['b']);
    });

    it('refreshes a list TTL on append and drops the list once it lapses', async () => {
      await store.appendToList(key('session'), 'a', 10, 2);
      await advance(1200);
      await store.appendToList(key('session'), 'b', 10, 2);
      await advance(1200);
      expect(await store.readList(key('session'))).toEqual(['a', 'b']);
      await advance(1000);
      expect(await store.readList(key('session'))).toEqual([]);
    });

    it('expires and deletes the IM inbox records (never evicted) like any other key', async () => {
      const [record, lease] = [`dedup:${key('m')}`, `lease:dedup:${key('m')}`];
      expect(await store.setIfAbsent(record, 'pending', 1)).toBe(true);
      await store.set(lease, 'owner', 1);
      expect(await store.setIfAbsent(lease, 'other', 1)).toBe(false);
      await advance(1100);
      expect(await store.get(record)).toBeNull();
      expect(await store.setIfAbsent(lease, 'other', 60)).toBe(true);
      await store.set(record, 'done', 60);
      await store.delete(lease);
      await store.delete(record);
      expect(await store.get(lease)).toBeNull();
      expect(await store.get(record)).toBeNull();
    });

    it('answers ping while usable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
