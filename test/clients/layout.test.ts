import { layout, MIN_COLUMNS, type Screen } from '../../app/src/tui/layout';
import { displayWidth } from '../../app/src/tui/text';

const noInput = { text: '', cursorColumn: 0 };

function screen(overrides: Partial<Screen> = {}): Screen {
  return { title: 'clawdbot | rules', entries: [], status: 'Enter: send', scrollBack: 0, ...overrides };
}

describe('full-screen layout', () => {
  it('fills the terminal: title, transcript, status and input rows of the right width', () => {
    const frame = layout(screen({ entries: [{ role: 'user', text: '你好，机器人' }] }), noInput, 40, 10);
    expect(frame.rows).toHaveLength(10);
    for (const row of frame.rows.slice(0, -1)) expect(displayWidth(row.text)).toBe(40);
    expect(frame.rows[0]).toMatchObject({ style: 'bar' });
    expect(frame.rows[0].text).toContain('clawdbot | rules');
    expect(frame.rows[1].text.trim()).toBe('You');
    expect(frame.rows[2].text.trim()).toBe('你好，机器人');
    expect(frame.rows[8]).toMatchObject({ style: 'bar' });
    expect(frame.cursor).toEqual({ row: 9, column: 2 });
  });

  it('keeps wide characters inside the screen on every row', () => {
    const long = '这是一个很长的中文回答，用来检查换行是否会破坏布局。'.repeat(4);
    const frame = layout(screen({ entries: [{ role: 'assistant', text: long }], streaming: long }), noInput, 23, 30);
    for (const row of frame.rows) expect(displayWidth(row.text)).toBeLessThanOrEqual(23);
  });

  it('shows the newest rows and scrolls back through older ones', () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ role: 'info' as const, text: `line ${i}` }));
    const latest = layout(screen({ entries }), noInput, 30, 8);
    const transcript = (rows: { text: string }[]) => rows.slice(1, -2).map((r) => r.text.trim()).filter(Boolean);
    expect(transcript(latest.rows).at(-1)).toBe('line 19');
    const back = layout(screen({ entries, scrollBack: 10 }), noInput, 30, 8);
    expect(transcript(back.rows).at(-1)).toBe('line 14');
    const top = layout(screen({ entries, scrollBack: 1000 }), noInput, 30, 8);
    expect(transcript(top.rows)[0]).toBe('line 0');
  });

  it('shows a reply while it streams, after the conversation so far', () => {
    const frame = layout(screen({ entries: [{ role: 'user', text: 'hi' }], streaming: 'Hel' }), noInput, 30, 10);
    const texts = frame.rows.map((r) => r.text.trim());
    expect(texts.slice(1, 6)).toEqual(['You', 'hi', '', 'clawdbot', 'Hel']);
  });

  it('never prints escape sequences from the model', () => {
    const frame = layout(screen({ entries: [{ role: 'assistant', text: 'ok\x1b[2J\x1b]0;x\x07' }] }), noInput, 30, 10);
    expect(frame.rows.some((r) => r.text.includes('\x1b'))).toBe(false);
  });

  it('says so when the terminal is too small, within the screen', () => {
    const frame = layout(screen(), noInput, MIN_COLUMNS - 5, 3);
    expect(frame.rows).toHaveLength(1);
    expect(frame.rows[0].text).toContain('Terminal');
    expect(displayWidth(frame.rows[0].text)).toBeLessThan(MIN_COLUMNS - 5);
  });
});
