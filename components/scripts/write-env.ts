import { HOST_PATHS } from '../../app/src/contract';
import { asCommand, renderScript } from './render';

/**
 * Writes a settings file that may hold secrets from stdin (see renderEnvFile): the bot's env file,
 * or the backup settings of a host without an instance role. The command text holds no secret.
 */
export function writeEnvCommand(file: typeof HOST_PATHS.envFile | typeof HOST_PATHS.backupEnv = HOST_PATHS.envFile): string {
  return asCommand(renderScript('write-env', { ENV_FILE: file }));
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Docker Compose v1 takes an env-file value literally; v2 interpolates `$`, unquotes a leading
// quote, ends the value at ` #` and trims it. Values without those read the same in both.
const ENV_UNSAFE = /[\r\n\0$\\]|^["']|\s#/;

/** The env file's text (KEY=value lines). Rejects, naming the variable, what the file cannot carry. */
export function renderEnvFile(environment: Record<string, string>): string {
  return Object.entries(environment)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new Error(`environment: ${JSON.stringify(name)} is not a valid variable name`);
      if (typeof value !== 'string') throw new Error(`environment.${name}: must be a string`);
      if (ENV_UNSAFE.test(value) || value !== value.trim()) {
        throw new Error(
          `environment.${name}: the value may not contain $, backslashes or line breaks, start with a quote, hold " #" or have surrounding spaces`,
        );
      }
      return `${name}=${value}\n`;
    })
    .join('');
}
