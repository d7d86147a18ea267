/** A session counts as active for this long after its last turn. */
export const ACTIVE_SESSION_WINDOW_MS = 15 * 60_000;

/** This process's view of which sessions are active, for the active-sessions gauge. */
export class ActiveSessions {
  // Insertion order is last-turn order (touch deletes first), so pruning stops at the first live one.
  private readonly lastTurn = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  touch(sessionId: string): void {
    this.lastTurn.delete(sessionId);
    this.lastTurn.set(sessionId, this.now());
    this.prune();
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
