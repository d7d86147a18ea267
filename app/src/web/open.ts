import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export const OPEN_FLAG = '--open';

/**
 * The command that opens a URL in the desktop's browser, or undefined when there is no desktop:
 * on Linux and the BSDs that means no X11 or Wayland display (a server, an SSH session).
 */
export function browserCommand(
  url: string,
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): { command: string; args: string[] } | undefined {
  if (platform === 'darwin') return { command: 'open', args: [url] };
  // `start` is a cmd built-in; its first quoted argument is a window title, hence the "".
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return { command: 'xdg-open', args: [url] };
  return undefined;
}

/** The listen address as a browser should visit it: a wildcard host becomes localhost. */
export function browsableUrl(listenUrl: string): string {
  const url = new URL(listenUrl);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = 'localhost';
  return url.href;
}

/**
 * `npm start -- --open`: opens the web page in the desktop browser when there is a display,
 * otherwise logs where to point one. Never fails the start: a missing opener is logged too.
 */
export function openWebPageIfAsked(
  argv: string[],
  url: string,
  log: Logger,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (!argv.includes(OPEN_FLAG)) return;
  const pageUrl = browsableUrl(url);
  const opener = browserCommand(pageUrl, platform, env);
  if (!opener) {
    log.info({ url: pageUrl }, `No desktop display here; open ${pageUrl} in a browser`);
    return;
  }
  try {
    // Verbatim on Windows: cmd parses its own command line, and Node's quoting would turn
    // the "" title into a literal.
    const child = spawn(opener.command, opener.args, {
      detached: true,
      stdio: 'ignore',
      env,
      windowsVerbatimArguments: platform === 'win32',
    });
    child.on('error', (error) => {
      log.warn({ url: pageUrl, err: error.message }, `Could not start ${opener.command}; open ${pageUrl} in a browser`);
    });
    child.unref();
    log.info({ url: pageUrl }, `Opening ${pageUrl} in the browser`);
  } catch (error) {
    log.warn({ url: pageUrl, err: (error as Error).message }, `Could not start ${opener.command}; open ${pageUrl} in a browser`);
  }
}
