import fs from 'node:fs';
import path from 'node:path';
import type { LogRotation } from './log-rotation';

interface Batch {
  lines: string[];
  written: Promise<void>;
  resolve: () => void;
}

/**
 * A log file whose lines are on disk (written and fsynced) before the callers that wait for
 * them go on: audit.log. Group commit: the lines of one event-loop turn, and those logged while
 * the previous fsync runs, share one write and one fsync, made off the event loop. A flood of
 * audited requests then costs an fsync per batch, not per line, and never blocks the gateway.
 * The file rotates between batches.
 */
export class SyncedLogFile {
  private fd: number;
  private batch?: Batch;
  private committing?: Promise<void>;
  private closed = false;

  /** `report` receives write failures: a full disk must not take the gateway down. */
  constructor(
    private readonly rotation: LogRotation,
    private readonly report: (error: unknown) => void,
  ) {
    this.fd = fs.openSync(rotation.file, 'a');
  }

  write(line: string): boolean {
    if (this.closed) return true;
    if (!this.batch) {
      let resolve = () => {};
      const written = new Promise<void>((done) => (resolve = done));
      this.batch = { lines: [], written, resolve };
      if (!this.committing) setImmediate(() => this.commit());
    }
    this.batch.lines.push(line);
    return true;
  }

  /** Resolves once every line written so far is on disk (or its write failed, and was reported). */
  written(): Promise<void> {
    return this.batch?.written ?? this.committing ?? Promise.resolve();
  }

  /** Writes what is pending and closes the file (graceful shutdown). */
  async close(): Promise<void> {
    while (this.committing) await this.committing;
    this.closed = true;
    const batch = this.batch;
    this.batch = undefined;
    if (batch) {
      try {
        this.append(batch.lines.join(''));
        fs.fsyncSync(this.fd);
      } catch (error) {
        this.report(error);
      }
      batch.resolve();
    }
    fs.closeSync(this.fd);
  }

  private commit(): void {
    const batch = this.batch;
    if (!batch || this.closed) return;
    this.batch = undefined;
    this.committing = new Promise<void>((done) => {
      try {
        this.append(batch.lines.join(''));
      } catch (error) {
        this.report(error);
        return done();
      }
      fs.fsync(this.fd, (error) => {
        if (error) this.report(error);
        done();
      });
    }).then(() => {
      batch.resolve();
      this.committing = undefined;
      this.commit();
    });
  }

  private append(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.rotation.due(bytes)) {
      try {
        this.rotate();
      } catch (error) {
        this.report(error);
      }
    }
    fs.writeFileSync(this.fd, text);
    this.rotation.added(bytes);
  }

  /** Between batches, so every line before it is synced into the old file. */
  private rotate(): void {
    fs.closeSync(this.fd);
    try {
      this.rotation.moveAside();
    } finally {
      this.fd = fs.openSync(this.rotation.file, 'a');
    }
    // The new file's name must survive a power loss too, or its synced lines could be lost with it.
    const dir = fs.openSync(path.dirname(this.rotation.file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }
}
