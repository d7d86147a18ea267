import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
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
 * Writes are synchronous, so an exchange is on disk before its answer leaves.
 */
export class ConversationLog {
  private day = '';
  private file?: ReturnType<typeof pino.destination>;

  /** errorLog receives write failures (a full disk must not take the gateway down). */
  constructor(
    private readonly dir: string,
    private readonly errorLog: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  write(record: ExchangeRecord): void {
    const day = record.time.slice(0, 10);
    try {
      if (day !== this.day || !this.file) {
        this.file?.end();
        this.day = day;
        this.file = pino.destination({ dest: path.join(this.dir, `${day}.jsonl`), sync: true });
        this.file.on('error', (error) => this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed'));
      }
      this.file.write(`${JSON.stringify(record)}\n`);
    } catch (error) {
      this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed');
    }
  }

  close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (!file) return Promise.resolve();
    return new Promise((resolve) => {
      file.once('close', () => resolve());
      file.end();
    });
  }
}
