import path from 'node:path';
import pino, { type LevelWithSilent } from 'pino';
import { LOG_FILES } from './contract';
import type { Logs } from './deps';

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
  /** Closes the files (graceful shutdown). */
  close(): Promise<void>;
}

/** The four pino JSON logs under `<data dir>/logs/`. */
export function createLogs(dir: string, level: LevelWithSilent): FileLogs {
  const destinations: ReturnType<typeof pino.destination>[] = [];
  const open = (file: string, fileLevel: LevelWithSilent) => {
    // Synchronous, pino's default: a line is on disk before the next statement, so nothing is
    // lost in a crash and the error that preceded one is there to read.
    const destination = pino.destination({ dest: path.join(dir, file), mkdir: true, sync: true });
    destinations.push(destination);
    return pino({ level: fileLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
  };
  return {
    access: open(LOG_FILES.access, level),
    error: open(LOG_FILES.error, errorLogLevel(level)),
    modelApi: open(LOG_FILES.modelApi, level),
    audit: open(LOG_FILES.audit, level === 'silent' ? level : 'info'),
    async close() {
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
