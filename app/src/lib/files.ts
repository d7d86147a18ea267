import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const TEMPORARY_SUFFIX = '.tmp';
// writeFileAtomic's sibling: `<name>.<8 hex digits>.tmp`.
const TEMPORARY_FILE = /\.[0-9a-f]{8}\.tmp$/;

/**
 * Replaces a file in one step (write a sibling, then rename), so a crash never leaves half a
 * file. Parent directories are created; `mode` applies to the new file (0600 for secrets).
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: mode === 0o600 ? 0o700 : 0o755 });
  const temporary = `${file}.${randomBytes(4).toString('hex')}${TEMPORARY_SUFFIX}`;
  try {
    fs.writeFileSync(temporary, data, { mode });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** The file's trimmed content, or undefined when it does not exist. */
export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Removes the siblings that writeFileAtomic leaves when the process dies between writing and
 * renaming (a half-written copy, possibly of a secret). Call it at start, before anything writes.
 */
export function removeTemporaryFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const stale = names.filter((name) => TEMPORARY_FILE.test(name)).map((name) => path.join(dir, name));
  for (const file of stale) fs.rmSync(file, { force: true });
  return stale;
}
