import type { Logger } from 'pino';

/** `npm start -- --open`: opens the web page in the desktop browser. Filled in by the clients issue. */
export function openWebPageIfAsked(_argv: string[], _url: string, _log: Logger): void {
  // Intentionally empty until the clients issue lands.
}
