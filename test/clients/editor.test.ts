import { LineEditor } from '../../app/src/tui/editor';
import { displayWidth } from '../../app/src/tui/text';

function typed(text: string): LineEditor {
  const editor = new LineEditor();
  editor.insert(text);
  return editor;
}

describe('input line editor', () => {
  it('moves and deletes by whole characters, CJK and emoji included', () => {
    const editor = typed('你好👍🏽');
    editor.backspace();
    expect(editor.text).toBe('你好');
    editor.left();
    editor.insert('们');
    expect(editor.text).toBe('你们好');
    editor.home();
    editor.deleteForward();
    expect(editor.text).toBe('们好');
  });

  it('deletes the word before the cursor, and to either end of the line', () => {
    const editor = typed('hello big world');
    editor.deleteWordBack();
    expect(editor.text).toBe('hello big ');
    editor.left();
    editor.left();
    editor.deleteToEnd();
    expect(editor.text).toBe('hello bi');
    editor.left();
    editor.deleteToStart();
    expect(editor.text).toBe('i');
  });

  it('recalls sent lines and returns to the unsent draft', () => {
    const editor = typed('first');
    expect(editor.take()).toBe('first');
    editor.insert('second');
    editor.take();
    editor.insert('draft');
    editor.historyPrevious();
    expect(editor.text).toBe('second');
    editor.historyPrevious();
    expect(editor.text).toBe('first');
    editor.historyNext();
    editor.historyNext();
    expect(editor.text).toBe('draft');
  });

  it('scrolls a long line so that the cursor stays in view', () => {
    const editor = typed('一二三四五六七八九十');
    const view = editor.view(9);
    expect(displayWidth(view.text)).toBeLessThanOrEqual(9);
    expect(view.cursorColumn).toBeLessThan(9);
    expect(view.text.endsWith('十')).toBe(true);
    editor.home();
    expect(editor.view(9)).toEqual({ text: '一二三四', cursorColumn: 0 });
  });

  it('shows a pasted newline as one mark on the single input row', () => {
    const editor = typed('a\nb');
    expect(editor.view(10).text).toBe('a↵b');
    expect(editor.text).toBe('a\nb');
  });
});
