import { displayWidth, fitToWidth, graphemes, sanitize, wrap } from '../../app/src/tui/text';

describe('terminal text', () => {
  it('counts CJK characters and emoji as two columns and combining marks as none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('你好')).toBe(4);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
  });

  it('treats a family emoji and an accented letter as one grapheme each', () => {
    expect(graphemes('👨‍👩‍👧e\u0301x')).toEqual(['👨‍👩‍👧', 'e\u0301', 'x']);
  });

  it('removes escape sequences and control characters from model text', () => {
    expect(sanitize('\x1b[31mred\x1b[0m \x1b]0;pwned\x07title\x07 bell\x08')).toBe('red title bell');
    expect(sanitize('a\r\nb\tc\u009bd')).toBe('a\nb    cd');
  });

  it('fits text to an exact width without splitting a wide character', () => {
    expect(fitToWidth('你好世界', 5)).toBe('你好 ');
    expect(fitToWidth('ab', 4)).toBe('ab  ');
    expect(displayWidth(fitToWidth('日本語のテキスト', 7))).toBe(7);
  });

  it('wraps Latin text at spaces', () => {
    expect(wrap('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
  });

  it('breaks over-long words and keeps paragraphs', () => {
    expect(wrap('abcdefghijkl\n\nxy', 5)).toEqual(['abcde', 'fghij', 'kl', '', 'xy']);
  });

  it('wraps CJK text between characters and never exceeds the width', () => {
    const lines = wrap('我们的机器人今天回答了很多问题。Mixed 中文 and English text.', 9);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(9);
    expect(lines.join('').replace(/ /g, '')).toBe('我们的机器人今天回答了很多问题。Mixed中文andEnglishtext.');
    expect(lines[0]).toBe('我们的机');
  });
});
