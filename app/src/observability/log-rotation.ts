import fs from 'node:fs';
import path from 'node:path';

/** How much of each log the gateway keeps (LOG_MAX_MB, LOG_RETENTION_DAYS). */
export interface LogRetention {
  /** A log's current file and its rotated ones together. */
  maxBytes: number;
  /** Rotated files last written more than this many days ago are deleted. */
  retentionDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The current file rotates at this share of maxBytes, so that rotated files fill the rest and
 * the oldest can go while the others stay.
 */
const SEGMENTS = 4;

const nextUtcMidnight = (time: number) => (Math.floor(time / DAY_MS) + 1) * DAY_MS;

/**
 * The rotation of one log file, kept by the gateway itself so that `npm start` and a container
 * are bounded as well as the host: the file is moved aside as `<name>.<UTC time>` at the first
 * line of a new UTC day and when it reaches a quarter of maxBytes, and the writer reopens the
 * name. Rotated files go once they are older than retentionDays, and the oldest first while
 * they outgrow the rest of maxBytes. The name stays, so readers that follow it (the CloudWatch
 * agent) keep up. Moving a file aside loses nothing: lines already written stay in it, later
 * ones go to the new file.
 */
export class LogRotation {
  private readonly segmentBytes: number;
  private size = 0;
  private rotateAt = 0;

  constructor(
    readonly file: string,
    private readonly retention: LogRetention,
  ) {
    this.segmentBytes = Math.max(1, Math.floor(retention.maxBytes / SEGMENTS));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const existing = fs.statSync(file, { throwIfNoEntry: false });
    this.size = existing?.size ?? 0;
    // A file left from an earlier day rotates at its first new line.
    this.rotateAt = nextUtcMidnight(existing?.mtimeMs ?? Date.now());
    this.prune(Date.now());
  }

  /** Whether the file must be moved aside before `bytes` more are written to it. */
  due(bytes: number, now = Date.now()): boolean {
    return this.size > 0 && (now >= this.rotateAt || this.size + bytes > this.segmentBytes);
  }

  /** Counts bytes written to the current file. */
  added(bytes: number): void {
    this.size += bytes;
  }

  /** Moves the file aside and deletes what the retention no longer keeps; the writer then reopens `file`. */
  moveAside(now = Date.now()): void {
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    let target = `${this.file}.${stamp}`;
    for (let n = 1; fs.existsSync(target); n++) target = `${this.file}.${stamp}.${n}`;
    // Counted as rotated even when the move fails, so that a failure is retried (and
    // reported) once per quarter of maxBytes or per day, not on every line.
    this.size = 0;
    this.rotateAt = nextUtcMidnight(now);
    fs.renameSync(this.file, target);
    this.prune(now);
  }

  private prune(now: number): void {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.`;
    const rotated = fs
      .readdirSync(dir)
      .filter((name) => name.startsWith(prefix))
      .sort()
      .flatMap((name) => {
        const stat = fs.statSync(path.join(dir, name), { throwIfNoEntry: false });
        return stat ? [{ file: path.join(dir, name), size: stat.size, mtimeMs: stat.mtimeMs }] : [];
      });
    let total = rotated.reduce((sum, { size }) => sum + size, 0);
    const oldest = now - this.retention.retentionDays * DAY_MS;
    for (const { file, size, mtimeMs } of rotated) {
      if (mtimeMs >= oldest && total <= this.retention.maxBytes - this.segmentBytes) continue;
      fs.rmSync(file, { force: true });
      total -= size;
    }
  }
}
