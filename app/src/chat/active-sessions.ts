/** A session counts as active for this long after its last turn. */
export const ACTIVE_SESSION_WINDOW_MS = 15 * 60_000;

/**
 * This process's view of which sessions are active, for the active-sessions gauge. Bounded:
 * past maxSessions the least recently active session is forgotten (the gauge then reads the
 * bound), so a client opening a new session per request cannot grow it for the whole window.
 */
export class ActiveSessions {
  // Insertion order is last-turn order (touch deletes first), so pruning stops at the first live one.
  private readonly lastTurn = new Map<string, number>();

  constructor(
    private readonly maxSessions: number,
    private readonly now: () => number = Date.now,
  ) {}

  touch(sessionId: string): void {
    this.lastTurn.delete(sessionId);
    this.lastTurn.set(sessionId, this.now());
    this.prune();
    if (this.lastTurn.size > this.maxSessions) this.lastTurn.delete(this.lastTurn.keys().next().value!);
  }

  count(): number {
    this.prune();
    return this.lastTurn.size;
  }

  private prune(): void {
    const cutoff = this.now() - ACTIVE_SESSION_WINDOW_MS;
    for (const [sessionId, at] of this.lastTurn) {
      if (at > cutoff) break;
      this.lastTurn.delete(sessionId);
    }
  }
}
