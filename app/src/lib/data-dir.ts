import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readFileIfExists, writeFileAtomic } from './files';

/**
 * The data dir: CLAWDBOT_DATA_DIR (blank counts as unset), else `data` under the working
 * directory. The gateway, modelctl and the terminal client all find it here.
 */
export function dataDirFrom(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string {
  return path.resolve(cwd, env.CLAWDBOT_DATA_DIR?.trim() || 'data');
}

/**
 * A secret the gateway keeps in its data dir (DATA_LAYOUT.generatedApiKey, generatedAdminToken):
 * its file, and its content, trimmed, when the file exists and is not empty. A file that exists
 * but cannot be read is an error, not a missing secret.
 */
export function readKeptSecret(dataDir: string, relativePath: string): { file: string; secret?: string } {
  const file = path.join(dataDir, relativePath);
  return { file, secret: readFileIfExists(file) || undefined };
}

/** The kept secret, generated (mode 0600) when there is none yet; `generated` says which. */
export function keepSecret(dataDir: string, relativePath: string): { file: string; secret: string; generated: boolean } {
  const kept = readKeptSecret(dataDir, relativePath);
  if (kept.secret !== undefined) return { file: kept.file, secret: kept.secret, generated: false };
  const secret = `cb-${randomBytes(32).toString('base64url')}`;
  writeFileAtomic(kept.file, `${secret}\n`, 0o600);
  return { file: kept.file, secret, generated: true };
}
