// `npm run chat` / `clawdbot-chat`: chat with the gateway from a terminal. Full screen on a
// terminal (without colour or emphasis under NO_COLOR); plain lines when TERM=dumb or when
// stdin or stdout is not a terminal (pipes).
import { describeError, terminalClient } from '../tui/client';
import { ClientConfigError, loadClientConfig } from '../tui/config';
import { FullScreenChat } from '../tui/fullscreen';
import { runLineMode } from '../tui/linemode';
import { TerminalDisplay } from '../tui/terminal';

async function main(): Promise<number> {
  let config;
  try {
    config = loadClientConfig(process.env, process.cwd());
  } catch (error) {
    if (!(error instanceof ClientConfigError)) throw error;
    process.stderr.write(`clawdbot-chat: ${error.message}\n`);
    return 2;
  }
  const client = terminalClient(config.url, config.apiKey);

  // Checked before anything else, so a wrong URL or key is one clear line, not a broken screen.
  let model;
  try {
    model = await client.currentModel();
  } catch (error) {
    process.stderr.write(`clawdbot-chat: ${describeError(error, config.url)}\n`);
    return 1;
  }

  const fullScreen = process.stdin.isTTY && process.stdout.isTTY && process.env.TERM !== 'dumb';
  if (!fullScreen) {
    return runLineMode(client, config.url, {
      input: process.stdin,
      output: process.stdout,
      errors: process.stderr,
      interactive: process.stdin.isTTY === true,
    });
  }

  // no-color.org: set and not empty.
  const display = new TerminalDisplay(process.stdin, process.stdout, !process.env.NO_COLOR);
  const chat = new FullScreenChat(client, config.url, display, model);
  display.start(
    (text, key) => chat.handleKey(text, key),
    () => chat.resize(),
  );
  chat.resize();
  await chat.finished;
  display.restore();
  return 0;
}

// A reader that goes away (`| head -1`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`clawdbot-chat: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
