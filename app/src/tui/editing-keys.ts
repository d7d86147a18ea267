import type { Key } from 'node:readline';
import type { LineEditor } from './editor';

type Edit = (editor: LineEditor) => void;

/** Emacs-style bindings, as readline has them. */
const CONTROL_KEYS = new Map<string, Edit>([
  ['a', (editor) => editor.home()],
  ['e', (editor) => editor.end()],
  ['u', (editor) => editor.deleteToStart()],
  ['k', (editor) => editor.deleteToEnd()],
  ['w', (editor) => editor.deleteWordBack()],
  ['b', (editor) => editor.left()],
  ['f', (editor) => editor.right()],
  ['p', (editor) => editor.historyPrevious()],
  ['n', (editor) => editor.historyNext()],
]);

const NAMED_KEYS = new Map<string, Edit>([
  ['backspace', (editor) => editor.backspace()],
  ['delete', (editor) => editor.deleteForward()],
  ['left', (editor) => editor.left()],
  ['right', (editor) => editor.right()],
  ['home', (editor) => editor.home()],
  ['end', (editor) => editor.end()],
  ['up', (editor) => editor.historyPrevious()],
  ['down', (editor) => editor.historyNext()],
]);

/** Applies a key that edits the input line or browses its history; false when the key is not one. */
export function applyEditingKey(editor: LineEditor, key: Key): boolean {
  const edit = (key.ctrl ? CONTROL_KEYS : NAMED_KEYS).get(key.name ?? '');
  edit?.(editor);
  return edit !== undefined;
}
