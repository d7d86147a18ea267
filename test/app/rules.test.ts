import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaqFileError, RulesModel, normalizeText, readFaq } from '../../app/src/models/rules';

let dir: string;
let faqFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-rules-'));
  faqFile = path.join(dir, 'faq.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const writeFaq = (entries: unknown) => fs.writeFileSync(faqFile, JSON.stringify(entries));
const ask = (model: RulesModel, text: string) => model.complete({ messages: [{ role: 'user', content: text }], maxTokens: 100, temperature: 0 }).then((r) => r.text);

describe('rules engine', () => {
  const noon = () => new Date('2026-03-01T12:34:00Z');

  it.each(['hi', 'Hello!', 'good morning', '你好', '您好！', 'ｈｅｌｌｏ'])('greets back on %j', (greeting) => {
    expect(new RulesModel(faqFile).answerIfSimple(greeting)).toMatch(/clawdbot/);
  });

  it('answers in Chinese when asked in Chinese', () => {
    const rules = new RulesModel(faqFile, noon);
    expect(rules.answerIfSimple('你好')).toMatch(/^你好/);
    expect(rules.answerIfSimple('现在几点')).toMatch(/^现在是 2026年3月/);
  });

  it('tells the time', () => {
    expect(new RulesModel(faqFile, noon).answerIfSimple('what time is it?')).toMatch(/^It is \w+day, [12] March 2026 at \d\d:[0-5][0-9]:00/);
  });

  it('tells the time to the second, in each language', () => {
    let now = new Date('2026-03-01T12:34:56.100Z');
    const rules = new RulesModel(faqFile, () => now);
    const first = rules.answerIfSimple('what time is it');
    expect(first).toMatch(/12:34:56/);
    now = new Date('2026-03-01T12:34:56.900Z');
    expect(rules.answerIfSimple('what time is it')).toBe(first);
    expect(rules.answerIfSimple('现在几点')).toMatch(/^现在是 .*12:34:56/);
    now = new Date('2026-03-01T12:34:57.000Z');
    expect(rules.answerIfSimple('what time is it')).toMatch(/12:34:57/);
    expect(rules.answerIfSimple('现在几点')).toMatch(/^现在是 .*12:34:57/);
  });

  it('lists the FAQ questions in its help', () => {
    writeFaq([{ question: 'How do I reset my password?', answer: 'Use the portal.' }]);
    expect(new RulesModel(faqFile).answerIfSimple('help')).toMatch(/- How do I reset my password\?/);
  });

  it('answers an FAQ entry by its question or a keyword, ignoring case and width', () => {
    writeFaq([{ question: 'How do I reset my password?', answer: 'Use the portal.', keywords: ['忘记密码', 'VPN'] }]);
    const rules = new RulesModel(faqFile);
    expect(rules.answerIfSimple('hey, how do I RESET my password')).toBe('Use the portal.');
    expect(rules.answerIfSimple('我忘记密码了')).toBe('Use the portal.');
    expect(rules.answerIfSimple('ｖｐｎ is down')).toBe('Use the portal.');
  });

  it('leaves other messages to the model in hybrid routing, and falls back when it is the model', async () => {
    const rules = new RulesModel(faqFile);
    expect(rules.answerIfSimple('write me a poem about the sea')).toBeUndefined();
    expect(await ask(rules, 'write me a poem about the sea')).toMatch(/help/);
    expect(await ask(rules, '写一首诗')).toMatch(/帮助/);
  });

  it('picks up edits to faq.json without a restart', async () => {
    writeFaq([{ question: 'first question', answer: 'first answer' }]);
    const rules = new RulesModel(faqFile);
    expect(rules.answerIfSimple('first question')).toBe('first answer');
    writeFaq([{ question: 'second question', answer: 'second answer' }]);
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(faqFile, later, later);
    jest.useFakeTimers({ now: Date.now() + 5_000, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      expect(rules.answerIfSimple('second question')).toBe('second answer');
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses a broken faq.json at start, naming the file and the entry', () => {
    writeFaq([{ question: 'ok', answer: 'fine' }, { question: 'no answer' }]);
    expect(() => new RulesModel(faqFile)).toThrow(FaqFileError);
    expect(() => readFaq(faqFile)).toThrow(`${faqFile}: [1].answer:`);
    fs.writeFileSync(faqFile, '{ not json');
    expect(() => readFaq(faqFile)).toThrow(/not valid JSON/);
  });

  it('works without a faq.json', () => {
    expect(new RulesModel(path.join(dir, 'missing.json')).answerIfSimple('help')).toMatch(/greet/);
  });
});

describe('normalizeText', () => {
  it('folds case, width and spacing, and drops trailing punctuation', () => {
    expect(normalizeText('  What  IS\tthis？？ ')).toBe('what is this');
    expect(normalizeText('ＡＢＣ！')).toBe('abc');
  });
});
