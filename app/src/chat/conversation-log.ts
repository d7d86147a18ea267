import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ModelDescriptor } from '../models/types';
import type { Channel } from './service';

/** One line of `<data dir>/conversations/<UTC date>.jsonl` (`<UTC date>.<replica>.jsonl` in a shared data dir). */
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

/** A day file: its day, and the replica that writes it when replicas share the data dir. */
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})(?:\.(.+))?\.jsonl$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Appends every exchange as JSONL, one file per UTC day (the backup job ships these).
 *
 * Group commit: the exchanges of one turn of the event loop go to the file in one write, made
 * at the end of that turn, and write() resolves once its record is in the file. Callers await
 * it before the answer leaves, so an answer the client got is always recorded (a crash of the
 * gateway cannot lose it), at one system call per turn instead of one per exchange. There is
 * no fsync, as before: one costs about 3 ms here, which every answer would wait for.
 * Old and excess day files are deleted at start, on each new day and whenever the files
 * outgrow their bound.
 *
 * Replicas that share the data dir (the ha tier's EFS) each write files of their own,
 * `<day>.<replica>.jsonl`: appends from two NFS clients to one file can interleave. Each bounds
 * its own files by size; any of them deletes a file past the retention, so the files of
 * replicas that are gone (every deploy starts new tasks) expire too.
 */
export class ConversationLog {
  private day = '';
  private fd?: number;
  private batchDay = '';
  private batch: string[] = [];
  private committed: Array<() => void> = [];
  /** The size of the day files, as of the last prune plus what was written since. */
  private bytes = 0;
  /** The day whose file alone outgrew maxBytes: its further exchanges are not written. */
  private fullDay = '';

  /**
   * errorLog receives write failures (a full disk must not take the gateway down). replica names
   * this process in its file names when replicas share the directory.
   */
  constructor(
    private readonly dir: string,
    private readonly errorLog: Logger,
    private readonly retention: ConversationRetention,
    private readonly replica?: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.prune(new Date().toISOString().slice(0, 10));
  }

  /** Resolves once the record is in the file (or its write failed, or the day is full, and error.log says so). */
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
    if (lines) this.append(this.batchDay, lines);
    for (const resolve of committed) resolve();
  }

  private append(day: string, lines: string): void {
    try {
      if (day !== this.day || this.fd === undefined) {
        if (this.fd !== undefined) fs.closeSync(this.fd);
        this.fd = undefined;
        this.prune(day);
        this.fd = fs.openSync(path.join(this.dir, this.replica ? `${day}.${this.replica}.jsonl` : `${day}.jsonl`), 'a');
        this.day = day;
      }
      if (this.fullDay === day) return;
      const size = Buffer.byteLength(lines);
      if (this.bytes + size > this.retention.maxBytes && this.prune(day, size) + size > this.retention.maxBytes) {
        this.fullDay = day;
        this.errorLog.error({ dir: this.dir, day, maxBytes: this.retention.maxBytes }, 'conversation log is full (CONVERSATION_LOG_MAX_MB): the rest of this day is not recorded');
        return;
      }
      fs.writeFileSync(this.fd, lines);
      this.bytes += size;
    } catch (error) {
      this.errorLog.error({ err: error, dir: this.dir }, 'conversation log write failed');
    }
  }

  /**
   * Deletes the day files past the retention (any replica's), then this process's oldest ones
   * while its files and `pending` bytes about to be written exceed maxBytes; today's file is
   * never deleted. Returns (and keeps) the size of this process's files that remain.
   */
  private prune(today: string, pending = 0): number {
    const oldest = new Date(Date.parse(today) - this.retention.retentionDays * DAY_MS).toISOString().slice(0, 10);
    const own: Array<{ day: string; file: string; size: number }> = [];
    for (const name of fs.readdirSync(this.dir)) {
      const [, day, replica] = DAY_FILE.exec(name) ?? [];
      if (!day) continue;
      const file = path.join(this.dir, name);
      if (day < oldest) fs.rmSync(file, { force: true });
      else if (replica === this.replica) own.push({ day, file, size: fs.statSync(file).size });
    }
    own.sort((a, b) => a.day.localeCompare(b.day));
    let total = own.reduce((sum, { size }) => sum + size, 0);
    for (const { day, file, size } of own) {
      if (day >= today || total + pending <= this.retention.maxBytes) break;
      fs.rmSync(file, { force: true });
      total -= size;
    }
    this.bytes = total;
    return total;
  }
}
