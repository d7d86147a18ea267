import { MemoryStore } from '../../app/src/store/memory';
import { describeStoreContract } from '../helpers/store-contract';

describeStoreContract('memory', async () => {
  let now = 1_000_000;
  return {
    store: new MemoryStore(() => now),
    advance: async (ms) => {
      now += ms;
    },
  };
});

describe('the bounded memory store', () => {
  const sessions = (store: MemoryStore, from: number, to: number) =>
    Promise.all(Array.from({ length: to - from }, (_, i) => store.appendToList(`session:${from + i}`, ['question', 'answer'], 20, 3600)));
  const kept = async (store: MemoryStore, count: number) =>
    (await Promise.all(Array.from({ length: count }, (_, i) => store.readList(`session:${i}`)))).filter((list) => list.length > 0).length;

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const store = new MemoryStore(Date.now, { maxEntries: 100, maxBytes: 1e9 });
    await sessions(store, 0, 100);
    await store.readList('session:0');
    await sessions(store, 100, 150);
    expect(await store.readList('session:0')).toEqual(['question', 'answer']);
    expect(await store.readList('session:1')).toEqual([]);
    expect(await kept(store, 150)).toBe(100);
    await store.close();
  });

  it('keeps its entries within maxBytes, counting what an append adds', async () => {
    const store = new MemoryStore(Date.now, { maxEntries: 1e6, maxBytes: 100_000 });
    for (let i = 0; i < 100; i++) await store.appendToList('session:big', 'x'.repeat(1000), 1000, 3600);
    await store.set('cache:other', 'y'.repeat(10_000), 3600);
    // 100 items of 2 KB each and the newest cache entry cannot both fit: the list, used least recently, goes.
    expect(await store.readList('session:big')).toEqual([]);
    expect(await store.get('cache:other')).toHaveLength(10_000);
    await store.close();
  });

  it('never evicts the IM inbox records (dedup, lease, unfinished), however full it gets', async () => {
    const store = new MemoryStore(Date.now, { maxEntries: 100, maxBytes: 50_000 });
    await store.setIfAbsent('dedup:feishu:m1', '{"state":"pending"}', 3600);
    await store.set('lease:dedup:feishu:m1', 'owner', 60);
    await store.addToSet('unfinished:feishu', 'dedup:feishu:m1');
    await sessions(store, 0, 1000);
    expect(await kept(store, 1000)).toBeLessThanOrEqual(100);
    expect(await store.get('dedup:feishu:m1')).toBe('{"state":"pending"}');
    expect(await store.setIfAbsent('lease:dedup:feishu:m1', 'other', 60)).toBe(false);
    expect(await store.setMembers('unfinished:feishu')).toEqual(['dedup:feishu:m1']);
    await store.close();
  });
});
