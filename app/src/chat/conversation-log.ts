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
  /** The API key's id for /api/chat sessions (see Turn.principal). */
  principal?: string;
  model: ModelDescriptor;
  /** Who answered: the rules engine, the response cache, the model, or the gateway itself (a notice). */
  source: 'rules' | 'cache' | 'model' | 'gateway';
  user: string;
  reply: string;
  durationMs: number;
  /** Set when the model failed: the user's message is still kept. */
  error?: string;
}

/** How long and how much of the conversation log is kept. */
export interface ConversationRetention {
  /** Day files more than this many days older than today's are deleted. */
  retentionDays: number;
  /** The day files together; past it the oldest days are deleted, and then today's exchanges are no longer written. */
  maxBytes: number;
}

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Appends every exchange as JSONL, one file per UTC day (the backup job ships these).
 * Writes are synchronous, so an exchange is on disk before its answer leaves. Old and excess
 * day files are deleted at start, on each new day and whenever the files outgrow their bound.
 */
export class ConversationLog {
  private day = '';
  private file?: ReturnType<typeof pino.destination>;
  /** The size of the day files, as of the last prune plus what was written since. */
  private bytes = 0;
  /** The day whose file alone outgrew maxBytes: its further exchanges are not written. */
  private fullDay = '';

  /** errorLog receives write failures (a full disk must not take the gateway down). */
  constructor(
    private readonly dir: string,
    private readonly errorLog: Logger,
    private readonly retention: ConversationRetention,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.prune(new Date().toISOString().slice(0, 10));
  }

  write(record: ExchangeRecord): void {
    const day = record.time.slice(0, 10);
    try {
      if (day !== this.day || !this.file) {
        this.file?.end();
        this.day = day;
        this.prune(day);
        this.file = pino.destination({ dest: path.join(this.dir, `${day}.jsonl`), sync: true });
        this.file.on('error', (error) => this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed'));
      }
      if (this.fullDay === day) return;
      const line = `${JSON.stringify(record)}\n`;
      const size = Buffer.byteLength(line);
      if (this.bytes + size > this.retention.maxBytes && this.prune(day, size) + size > this.retention.maxBytes) {
        this.fullDay = day;
        this.errorLog.error({ dir: this.dir, day, maxBytes: this.retention.maxBytes }, 'conversation log is full (CONVERSATION_LOG_MAX_MB): the rest of this day is not recorded');
        return;
      }
      this.file.write(line);
      this.bytes += size;
    } catch (error) {
      this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed');
    }
  }

  /**
   * Deletes the day files past the retention, then the oldest ones while all of them and
   * `pending` bytes about to be written exceed maxBytes; today's file is never deleted.
   * Returns (and keeps) the size of the files that remain.
   */
  private prune(today: string, pending = 0): number {
    const oldest = new Date(Date.parse(today) - this.retention.retentionDays * DAY_MS).toISOString().slice(0, 10);
    const files = fs
      .readdirSync(this.dir)
      .flatMap((name) => {
        const day = DAY_FILE.exec(name)?.[1];
        return day ? [{ day, file: path.join(this.dir, name), size: fs.statSync(path.join(this.dir, name)).size }] : [];
      })
      .sort((a, b) => a.day.localeCompare(b.day));
    let total = files.reduce((sum, { size }) => sum + size, 0);
    for (const { day, file, size } of files) {
      if (day >= today || (day >= oldest && total + pending <= this.retention.maxBytes)) break;
      fs.rmSync(file, { force: true });
      total -= size;
    }
    this.bytes = total;
    return total;
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
