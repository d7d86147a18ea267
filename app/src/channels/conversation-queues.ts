/**
 * Runs jobs one conversation at a time, in the order they were added, each with an AbortSignal
 * that close() fires for whatever has not finished within its grace period.
 */
export class ConversationQueues {
  /** Jobs queued or running, by key. */
  private readonly active = new Map<string, AbortController>();
  /** The tail of each conversation's queue. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly runs = new Set<Promise<void>>();

  has(key: string): boolean {
    return this.active.has(key);
  }

  keys(): IterableIterator<string> {
    return this.active.keys();
  }

  /** Queues `job` behind the conversation's earlier jobs; `onError` gets whatever it throws. */
  add(key: string, conversation: string, job: (signal: AbortSignal) => Promise<void>, onError: (error: unknown) => void): void {
    const controller = new AbortController();
    this.active.set(key, controller);
    const previous = this.tails.get(conversation) ?? Promise.resolve();
    const run = previous
      .then(() => job(controller.signal))
      .catch(onError)
      .finally(() => {
        this.active.delete(key);
        this.runs.delete(run);
        if (this.tails.get(conversation) === run) this.tails.delete(conversation);
      });
    this.tails.set(conversation, run);
    this.runs.add(run);
  }

  /** Lets queued jobs finish for up to `graceMs`, then aborts the rest and waits for them. */
  async close(graceMs: number): Promise<void> {
    const settled = Promise.allSettled([...this.runs]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const controller of this.active.values()) controller.abort();
    await Promise.allSettled([...this.runs]);
  }

  /** Resolves when every job added so far has finished. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
  }
}
