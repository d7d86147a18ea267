import type { Logger } from 'pino';

/** A channel's long connection, as the channels plugin holds it. */
export interface LongConnection {
  stop(): void;
  /** 'ok' while connected, else why not (for /ready). */
  readiness(): string;
}

/** A connection that keeps failing is logged at most this often. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * The failures of a channel's long connection, which its SDK retries on its own (every second
 * for DingTalk): error.log gets the first failure, then one line a minute saying how many
 * were left out, and a line when it connects again. `reason()` is what /ready shows.
 */
export class ConnectionFailures {
  private lastFailure?: string;
  private loggedAt?: number;
  private notLogged = 0;

  constructor(
    private readonly connection: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  failed(error: unknown): void {
    this.lastFailure = error instanceof Error ? error.message : String(error);
    if (this.loggedAt !== undefined && this.now() - this.loggedAt < FAILURE_LOG_INTERVAL_MS) {
      this.notLogged += 1;
      return;
    }
    this.log.error({ connection: this.connection, error: this.lastFailure, failuresNotLogged: this.notLogged }, `${this.connection}: could not connect; retrying`);
    this.loggedAt = this.now();
    this.notLogged = 0;
  }

  connected(): void {
    if (this.lastFailure !== undefined) this.log.warn({ connection: this.connection }, `${this.connection}: connected again`);
    this.lastFailure = undefined;
    this.loggedAt = undefined;
    this.notLogged = 0;
  }

  /** Why the connection is not up. */
  reason(): string {
    return this.lastFailure === undefined ? 'not connected yet' : `not connected: ${this.lastFailure}`;
  }
}
