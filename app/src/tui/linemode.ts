import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { describeError, GatewayError, modelLabel, type GatewayClient } from './client';
import { HELP_TEXT, parseInput } from './commands';
import { sanitize } from './text';

export interface LineModeIo {
  input: Readable;
  /** Replies and command output. */
  output: Writable;
  /** Errors, so that a pipe's output holds replies only. */
  errors: Writable;
  /** A person typing (TERM=dumb on a TTY): show a prompt. A pipe gets none. */
  interactive: boolean;
}

/**
 * Plain line mode, for pipes and terminals that cannot do full screen: each line read is one
 * message (or command), and its reply is written as it streams, then a newline. Resolves with
 * the exit code: 0, or 1 when a message failed.
 */
export async function runLineMode(client: GatewayClient, gatewayUrl: URL, io: LineModeIo): Promise<number> {
  const lines = createInterface({ input: io.input, terminal: false });
  let sessionId: string | undefined;
  let exitCode = 0;
  const prompt = () => io.interactive && io.output.write('> ');
  const fail = (error: unknown) => {
    io.errors.write(`clawdbot-chat: ${sanitize(describeError(error, gatewayUrl))}\n`);
    exitCode = 1;
  };

  if (io.interactive) io.output.write(`Connected to ${gatewayUrl.origin}. /help for commands.\n`);
  prompt();
  for await (const line of lines) {
    const input = parseInput(line);
    if (input.kind === 'quit') break;
    switch (input.kind) {
      case 'message':
        if (!line.trim()) break;
        let wrote = false;
        try {
          const result = await client.chat({ message: line, sessionId }, (delta) => {
            wrote = true;
            io.output.write(sanitize(delta));
          });
          sessionId = result.sessionId;
          io.output.write(wrote ? '\n' : `${sanitize(result.reply)}\n`);
        } catch (error) {
          if (wrote) io.output.write('\n');
          fail(error);
          // Every further line would be refused the same way.
          if (error instanceof GatewayError && error.status === 401) {
            lines.close();
            return exitCode;
          }
        }
        break;
      case 'new':
        sessionId = undefined;
        io.output.write('New session.\n');
        break;
      case 'model':
        try {
          io.output.write(`Model: ${sanitize(modelLabel(await client.currentModel()))}\n`);
        } catch (error) {
          fail(error);
        }
        break;
      case 'help':
        io.output.write(`${HELP_TEXT}\n`);
        break;
      case 'unknown':
        io.errors.write(`clawdbot-chat: unknown command ${input.command}; /help lists them\n`);
        break;
    }
    prompt();
  }
  lines.close();
  return exitCode;
}
