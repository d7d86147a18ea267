import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ModelDescriptor } from '../models/types';
import type { Channel } from './service';

/** One line of `<data dir>/conversations/<UTC date>.jsonl`. */
export interface ExchangeRecord {
  time: string;
  channel: Channel;
  /** Absent for stateless OpenAI-style completions. */
  sessionId?: string;
  model: ModelDescriptor;
  /** Who answered: the rules engine, the response cache, the model, or the gateway itself (a notice). */
  source: 'rules' | 'cache' | 'model' | 'gateway';
  user: string;
  reply: string;
  durationMs: number;
  /** Set when the model failed: the user's message is still kept. */
  error?: string;
}

/**
 * Appends every exchange as JSONL, one file per UTC day (the backup job ships these).
 *
 * Group commit: the exchanges of one turn of the event loop go to the file in one write, made
 * at the end of that turn, and write() resolves once its record is in the file. Callers await
 * it before the answer leaves, so an answer the client got is always recorded (a crash of the
 * gateway cannot lose it), at one system call per turn instead of one per exchange. There is
 * no fsync, as before: one costs about 3 ms here, which every answer would wait for.
 */
export class ConversationLog {
  private day = '';
  private fd?: number;
  private batchDay = '';
  private batch: string[] = [];
  private committed: Array<() => void> = [];

  /** errorLog receives write failures (a full disk must not take the gateway down). */
  constructor(
    private readonly dir: string,
    private readonly errorLog: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Resolves once the record is in the file (or its write failed and is in error.log). */
  write(record: ExchangeRecord): Promise<void> {
    const day = record.time.slice(0, 10);
    if (day !== this.batchDay) this.commit();
    this.batchDay = day;
    this.batch.push(`${JSON.stringify(record)}\n`);
    return new Promise((resolve) => {
      if (this.committed.push(resolve) === 1) setImmediate(() => this.commit());
    });
  }

  /** Writes what is pending and closes the file (graceful shutdown). */
  async close(): Promise<void> {
    this.commit();
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    this.day = '';
  }

  private commit(): void {
    const lines = this.batch.join('');
    const committed = this.committed;
    this.batch = [];
    this.committed = [];
    if (!lines) return;
    try {
      if (this.batchDay !== this.day || this.fd === undefined) {
        if (this.fd !== undefined) fs.closeSync(this.fd);
        this.fd = undefined;
        this.fd = fs.openSync(path.join(this.dir, `${this.batchDay}.jsonl`), 'a');
        this.day = this.batchDay;
      }
      fs.writeFileSync(this.fd, lines);
    } catch (error) {
      this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed');
    }
    for (const resolve of committed) resolve();
  }
}
