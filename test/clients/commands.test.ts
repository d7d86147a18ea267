import { modelLabel } from '../../app/src/tui/client';
import { parseInput } from '../../app/src/tui/commands';

describe('chat input', () => {
  it('recognises the slash commands', () => {
    expect(parseInput('/new')).toEqual({ kind: 'new' });
    expect(parseInput(' /MODEL ')).toEqual({ kind: 'model' });
    expect(parseInput('/help')).toEqual({ kind: 'help' });
    expect(parseInput('/quit')).toEqual({ kind: 'quit' });
    expect(parseInput('/nope')).toEqual({ kind: 'unknown', command: '/nope' });
  });

  it('sends everything else as a message, including text that starts with a path', () => {
    expect(parseInput('hello')).toEqual({ kind: 'message', text: 'hello' });
    expect(parseInput('/etc/hosts is missing')).toEqual({ kind: 'message', text: '/etc/hosts is missing' });
  });

  it('names the model with its provider', () => {
    expect(modelLabel({ name: 'gpt-4o-mini', provider: 'openai' })).toBe('gpt-4o-mini (openai)');
    expect(modelLabel(undefined)).toBe('unknown');
    expect(modelLabel({ name: 'rules', provider: 'rules' })).toBe('rules');
  });
});
