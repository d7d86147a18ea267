/** What a line typed into the chat asks for: a message to the bot, or one of the slash commands. */
export type Input =
  | { kind: 'message'; text: string }
  | { kind: 'new' | 'model' | 'help' | 'quit' }
  | { kind: 'unknown'; command: string };

const COMMANDS = ['new', 'model', 'help', 'quit'] as const;

export const HELP_TEXT = [
  'Type a message and press Enter to send it. Commands:',
  '  /new    start a new session (the bot forgets this conversation)',
  '  /model  show the model answering on the gateway',
  '  /help   show this help',
  '  /quit   leave (also Ctrl-D on an empty line)',
].join('\n');

export function parseInput(line: string): Input {
  const trimmed = line.trim();
  const match = /^\/(\S+)$/.exec(trimmed);
  if (!match) return { kind: 'message', text: line };
  const name = match[1].toLowerCase();
  const command = COMMANDS.find((c) => c === name);
  return command ? { kind: command } : { kind: 'unknown', command: trimmed };
}
