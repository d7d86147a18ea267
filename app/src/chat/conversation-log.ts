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
  /** Who answered: the rules engine, the response cache, or the model. */
  source: 'rules' | 'cache' | 'model';
  user: string;
  reply: string;
  durationMs: number;
  /** Set when the model failed: the user's message is still kept. */
  error?: string;
}

/** Appends every exchange as JSONL, one file per UTC day (the backup job ships these). */
export class ConversationLog {
  private day = '';
  private stream?: fs.WriteStream;

  /** errorLog receives write failures (a full disk must not take the gateway down). */
  constructor(
    private readonly dir: string,
    private readonly errorLog: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  write(record: ExchangeRecord): void {
    const day = record.time.slice(0, 10);
    if (day !== this.day || !this.stream) {
      this.stream?.end();
      this.day = day;
      const file = path.join(this.dir, `${day}.jsonl`);
      this.stream = fs.createWriteStream(file, { flags: 'a' });
      this.stream.on('error', (error) => this.errorLog.error({ err: error, file }, 'conversation log write failed'));
    }
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  /** Resolves once every line is on disk. */
  close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return Promise.resolve();
    return new Promise((resolve) => stream.end(resolve));
  }
}
