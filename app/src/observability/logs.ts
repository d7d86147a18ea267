import path from 'node:path';
import pino, { type LevelWithSilent } from 'pino';
import { LOG_FILES } from '../contract';
import type { Logs } from '../deps';

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

/** Buffered lines of the busy logs are written at least this often. */
const FLUSH_INTERVAL_MS = 1000;

/** How a log reaches its file. */
type Durability = 'buffered' | 'written' | 'synced';

/**
 * The four pino JSON logs under `<data dir>/logs/`. access.log and model_api.log take a line
 * per request, so they are buffered (4 KiB or FLUSH_INTERVAL_MS, whichever comes first): a
 * synchronous write per line costs the gateway about 40% of its throughput. error.log is rare
 * and must survive a crash of the process, so it is written synchronously. audit.log records
 * what the gateway acknowledges (switches, admin calls, channel decisions): each line is
 * written and fsynced before the call that logs it returns, so it survives a crash of the host
 * too, and is on disk before the action it records is acknowledged.
 */
export function createLogs(dir: string, level: LevelWithSilent): FileLogs {
  const destinations: ReturnType<typeof pino.destination>[] = [];
  let closed = false;
  const open = (file: string, fileLevel: LevelWithSilent, durability: Durability, redacted = true) => {
    const destination = pino.destination({
      dest: path.join(dir, file),
      mkdir: true,
      ...(durability === 'buffered' ? { sync: false, minLength: 4096 } : { sync: true, fsync: durability === 'synced' }),
    });
    destinations.push(destination);
    // Work that a forced shutdown cut short may still log after close(): its lines are
    // dropped, where the closed file would throw (and take the exit code with it).
    const stream = { write: (line: string) => closed || destination.write(line) };
    return pino({ level: fileLevel, ...(redacted ? { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } } : {}) }, stream);
  };
  const logs = {
    // The two per-request logs are redacted by construction: their only writers
    // (access-log.ts, models/instrumented.ts) log fixed fields, never a header, a key or a
    // request object. pino's redaction cost a tenth of the gateway's time on access.log and a
    // twentieth on model_api.log.
    access: open(LOG_FILES.access, level, 'buffered', false),
    error: open(LOG_FILES.error, errorLogLevel(level), 'written'),
    modelApi: open(LOG_FILES.modelApi, level, 'buffered', false),
    audit: open(LOG_FILES.audit, level === 'silent' ? level : 'info', 'synced'),
  };
  const flusher = setInterval(() => destinations.forEach((destination) => destination.flush()), FLUSH_INTERVAL_MS).unref();
  return {
    ...logs,
    async flush() {
      await Promise.all(destinations.map((destination) => new Promise((resolve) => destination.flush(resolve))));
    },
    async close() {
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
