import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/store';

/**
 * Waits until a fixed-window counter in the store has room, so that sends respect the
 * platform's limits across replicas sharing one Redis.
 */
export async function waitForSlot(store: Store, key: string, limit: number, windowMs: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const { count, ttlMs } = await store.increment(`rl:${key}`, windowMs);
    if (count <= limit) return;
    await sleep(Math.max(ttlMs, 1), undefined, { signal });
  }
}
