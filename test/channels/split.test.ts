import { DINGTALK_MARKDOWN_LIMIT } from '../../app/src/channels/dingtalk/channel';
import { FEISHU_TEXT_LIMIT } from '../../app/src/channels/feishu/channel';
import { splitMessage } from '../../app/src/channels/split';

/** The parts joined back without the fences the splitter added, blank lines collapsed. */
function rejoin(parts: string[]): string {
  return parts.join('\n').replace(/\n```\n```[a-z]*\n/g, '\n').replace(/\n+/g, '\n');
}

const words = (count: number) => Array.from({ length: count }, (_, i) => `word${i}`).join(' ');

describe('splitMessage', () => {
  it('keeps a short answer whole', () => {
    expect(splitMessage('  short answer \n', 100)).toEqual(['short answer']);
  });

  it('keeps every part under the limit and loses no text', () => {
    const text = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}. ${words(30)}`).join('\n\n');
    const parts = splitMessage(text, 500);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(500);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
  });

  it('cuts between paragraphs when one is close to the limit', () => {
    const first = `First. ${words(50)}`;
    const second = `Second. ${words(50)}`;
    const parts = splitMessage(`${first}\n\n${second}`, first.length + 20);
    expect(parts).toEqual([first, second]);
  });

  it('cuts after a sentence rather than inside one', () => {
    const text = `${'A sentence that ends here. '.repeat(20)}`.trim();
    for (const part of splitMessage(text, 100)) expect(part).toMatch(/\.$/);
  });

  it('cuts Chinese text after 。 and never inside a character', () => {
    const text = '钉钉和飞书都会重试没有及时确认的回调。'.repeat(30);
    const parts = splitMessage(text, 100);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(part.endsWith('。')).toBe(true);
    }
    expect(parts.join('')).toBe(text);
  });

  it('never separates the halves of an emoji', () => {
    const text = '😀'.repeat(301);
    const parts = splitMessage(text, 101);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(101);
      expect(part).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('closes a code block at the cut and reopens it, language included, in the next part', () => {
    const code = Array.from({ length: 60 }, (_, i) => `const line${i} = ${i};`).join('\n');
    const text = `Here is the code:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nThat is all.`;
    const parts = splitMessage(text, 400);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(400);
      const fences = part.split('\n').filter((line) => line.startsWith('```'));
      expect(fences.length % 2).toBe(0);
    }
    expect(parts[1].startsWith('```ts\n')).toBe(true);
    expect(rejoin(parts)).toBe(text.replace(/\n+/g, '\n'));
  });

  it('uses the platform limits: DingTalk markdown about 3,500 characters, Feishu text 150 KB', () => {
    expect(DINGTALK_MARKDOWN_LIMIT).toBe(3500);
    const long = words(2000);
    for (const part of splitMessage(long, DINGTALK_MARKDOWN_LIMIT)) expect(part.length).toBeLessThanOrEqual(3500);
    // Even at four UTF-8 bytes per character, a Feishu part stays under 150 KB.
    expect(FEISHU_TEXT_LIMIT * 4).toBeLessThan(150 * 1024);
  });
});
