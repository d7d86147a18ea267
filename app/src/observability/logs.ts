import os from 'node:os';
import path from 'node:path';
import pino, { type DestinationStream, type LevelWithSilent } from 'pino';
import { LOG_FILES } from '../contract';
import type { AccessLog, AccessLogEntry, Logs } from '../deps';
import { LogRotation, type LogRetention } from './log-rotation';
import { SyncedLogFile } from './synced-log-file';

/**
 * A safety net: code never passes secrets to a logger, and these paths are censored if one
 * ever slips into a logged object (headers, switch requests, settings).
 */
export const REDACTED_PATHS = [
  'apiKey',
  'apiSecret',
  'adminToken',
  'authorization',
  'token',
  '*.apiKey',
  '*.apiSecret',
  '*.adminToken',
  '*.authorization',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
];

/** The error log holds warnings and errors even when LOG_LEVEL is info or debug. */
function errorLogLevel(level: LevelWithSilent): LevelWithSilent {
  if (level === 'silent') return level;
  return pino.levels.values[level] > pino.levels.values.warn ? level : 'warn';
}

export interface FileLogs extends Logs {
  /** Resolves once every line logged so far is in its file. */
  flush(): Promise<void>;
  /** Writes out what is buffered and closes the files (graceful shutdown). */
  close(): Promise<void>;
}

/**
 * access.log's lines, in pino's format (`level`, `time`, `pid`, `hostname`, then the entry), made
 * by JSON.stringify: the entry's fields are fixed and plain, and the lines pino made took 13 to
 * 16% of a /health request's instructions (bench/RESULTS.md).
 */
function accessLines(level: LevelWithSilent, stream: { write(line: string): unknown }): AccessLog {
  if (level === 'silent' || pino.levels.values[level] > pino.levels.values.info) return { info() {} };
  const head = `{"level":${pino.levels.values.info},"time":`;
  const processFields = `,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())},`;
  // The entry's own JSON after its opening brace.
  return { info: (entry: AccessLogEntry) => void stream.write(head + Date.now() + processFields + JSON.stringify(entry).slice(1) + '\n') };
}

/** Buffered lines of the busy logs are written at least this often. */
const FLUSH_INTERVAL_MS = 1000;

/**
 * The four pino JSON logs under `<data dir>/logs/`, each rotated and bounded by `retention`
 * (see LogRotation). access.log and model_api.log take a line per request, so they are
 * buffered (4 KiB or FLUSH_INTERVAL_MS, whichever comes first): a synchronous write per line
 * costs the gateway about 40% of its throughput. The buffer goes out with one synchronous
 * write into the page cache: sonic-boom's asynchronous write, a thread-pool round trip per
 * 4 KiB, cost twice the CPU per line (bench/log-write.js). error.log is rare
 * and must survive a crash of the process, so each line is written at once. audit.log records
 * what the gateway acknowledges (switches, admin calls, channel decisions): its lines are
 * written and fsynced in groups (SyncedLogFile), and whoever acknowledges an audited action
 * first waits for auditWritten(), so the record survives a crash of the host too.
 */
export function createLogs(dir: string, level: LevelWithSilent, retention: LogRetention): FileLogs {
  const destinations: ReturnType<typeof pino.destination>[] = [];
  let closed = false;
  // A failed rotation goes to error.log once that file's write is over.
  const report = (file: string) => (error: unknown) => setImmediate(() => logs.error.error({ err: error, file }, 'log file rotation or write failed'));
  const logger = (fileLevel: LevelWithSilent, stream: DestinationStream, redacted: boolean) =>
    pino({ level: fileLevel, ...(redacted ? { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } } : {}) }, stream);
  // A log file, rotated; buffered ones are written 4 KiB at a time (or by the flusher below).
  const open = (file: string, buffered: boolean): DestinationStream => {
    const rotation = new LogRotation(path.join(dir, file), retention);
    // Lines go in as bytes: in its default (string) mode, sonic-boom measures the UTF-8 length
    // of the whole pending buffer on every line, up to 4 KiB each time. Its types know only that mode.
    const destination = pino.destination({ dest: rotation.file, mkdir: true, sync: true, contentMode: 'buffer', ...(buffered ? { minLength: 4096 } : {}) });
    const writeBytes = destination.write as unknown as (bytes: Buffer) => boolean;
    destinations.push(destination);
    return {
      write(line: string) {
        // Work that a forced shutdown cut short may still log after close(): its lines are
        // dropped, where the closed file would throw (and take the exit code with it).
        if (closed) return true;
        const bytes = Buffer.from(line);
        if (rotation.due(bytes.length)) {
          try {
            rotation.moveAside();
            destination.reopen();
          } catch (error) {
            report(file)(error);
          }
        }
        rotation.added(bytes.length);
        return writeBytes.call(destination, bytes);
      },
    };
  };
  const audit = new SyncedLogFile(new LogRotation(path.join(dir, LOG_FILES.audit), retention), report(LOG_FILES.audit));
  const logs = {
    // The two per-request logs are redacted by construction: their only writers
    // (access-log.ts, models/instrumented.ts) log fixed fields, never a header, a key or a
    // request object. pino's redaction cost a tenth of the gateway's time on access.log and a
    // twentieth on model_api.log.
    access: accessLines(level, open(LOG_FILES.access, true)),
    error: logger(errorLogLevel(level), open(LOG_FILES.error, false), true),
    modelApi: logger(level, open(LOG_FILES.modelApi, true), false),
    audit: logger(level === 'silent' ? level : 'info', audit, true),
  };
  const flusher = setInterval(() => destinations.forEach((destination) => destination.flush()), FLUSH_INTERVAL_MS).unref();
  return {
    ...logs,
    auditWritten: () => audit.written(),
    async flush() {
      await Promise.all([audit.written(), ...destinations.map((destination) => new Promise((resolve) => destination.flush(resolve)))]);
    },
    async close() {
      await audit.close();
      closed = true;
      clearInterval(flusher);
      await Promise.all(
        destinations.map(
          (destination) =>
            new Promise<void>((resolve) => {
              destination.once('close', resolve);
              destination.end();
            }),
        ),
      );
    },
  };
}
