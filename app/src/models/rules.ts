import fs from 'node:fs';
import { z } from 'zod';
import type { ChatModel, CompletionRequest, CompletionResult, ModelDescriptor, ModelStream } from './types';
import { NO_TOKENS, textOf } from './types';
import { firstProblem } from '../lib/validation';

/**
 * `<data dir>/faq.json`: a list of questions with their answers. An entry answers a message
 * that contains its question or any of its keywords (case- and width-insensitive).
 */
const faqSchema = z.array(
  z.object({
    question: z.string().trim().min(1),
    answer: z.string().trim().min(1),
    keywords: z.array(z.string().trim().min(1)).default([]),
  }),
);

export type FaqEntry = z.infer<typeof faqSchema>[number];

/** Written on first start so the operator sees the format; edit it, no restart needed. */
export const STARTER_FAQ: FaqEntry[] = [
  {
    question: 'What is clawdbot?',
    answer: 'I am clawdbot, your team chat bot. Ask me anything; simple questions I answer myself, the rest goes to the language model.',
    keywords: ['clawdbot', '你是谁'],
  },
  {
    question: 'What are your opening hours?',
    answer: 'We are open Monday to Friday, 9:00 to 18:00. (An example answer: put your own in faq.json.)',
    keywords: ['opening hours', '营业时间'],
  },
];

/** A faq.json that cannot be used; the message names the file and the entry. */
export class FaqFileError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'FaqFileError';
  }
}

/** Lower case, NFKC (full-width → ASCII), single spaces, no trailing punctuation. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s?!.。？！~～]+$/u, '')
    .trim();
}

const CJK = /[\u3400-\u9fff]/u;
const GREETING = /^(hi|hello|hey|yo|good (morning|afternoon|evening)|你好|您好|嗨|哈喽|早上好|下午好|晚上好|早安|在吗)( (there|bot|clawdbot))?[\s,，!！。.]*$/u;
const HELP = /^(help|\/help|\?|帮助|怎么用|你能做什么|what can you do)$/u;
const TIME = /^(what('s| is) the (time|date)|what time is it|time|date|today|现在几点|几点了|现在几点了|今天几号|今天是几号|现在时间|时间|日期)$/u;

type Language = 'en' | 'zh';

/**
 * The time answer of each language, formatted at most once a second (the answer shows seconds):
 * formatting took 2 µs, a tenth of the chat service's work for a "what time is it". The
 * formatters are built on the first time answer in their language: constructing an
 * Intl.DateTimeFormat loads ICU locale data, which cost a third of the CPU of a request when it
 * was done per answer, and a tenth of the gateway's start when done there.
 */
class TimeAnswers {
  private readonly formats: Partial<Record<Language, Intl.DateTimeFormat>> = {};
  private readonly answers: Partial<Record<Language, { second: number; text: string }>> = {};

  answer(language: Language, now: Date): string {
    const second = Math.floor(now.getTime() / 1000);
    const last = this.answers[language];
    if (last?.second === second) return last.text;
    const format = (this.formats[language] ??= new Intl.DateTimeFormat(language === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'full', timeStyle: 'long' }));
    const formatted = format.format(now);
    const text = language === 'zh' ? `现在是 ${formatted}` : `It is ${formatted}.`;
    this.answers[language] = { second, text };
    return text;
  }
}

/** How long a loaded faq.json is trusted before its modification time is checked again. */
const FAQ_RECHECK_MS = 2000;

/**
 * The built-in rules engine: greetings, help, the time, and the FAQ. It is the embedded
 * default model and the cheap path of hybrid routing (answerIfSimple).
 */
export class RulesModel implements ChatModel {
  readonly descriptor: ModelDescriptor = { provider: 'rules', name: 'rules' };
  readonly supportsVision = false;
  private readonly times = new TimeAnswers();
  private faq: FaqEntry[] = [];
  private faqMtimeMs = -1;
  private faqCheckedAt = 0;

  /** Throws FaqFileError when the file exists but is not a valid FAQ. */
  constructor(
    private readonly faqFile: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.reloadFaqIfChanged(true);
  }

  /** The answer when the message is simple (a rule or FAQ matches); undefined otherwise. */
  answerIfSimple(message: string): string | undefined {
    const text = normalizeText(message);
    if (!text) return undefined;
    const zh = CJK.test(text);
    if (GREETING.test(text)) return zh ? '你好！我是 clawdbot，有什么可以帮你？' : 'Hello! I am clawdbot. How can I help?';
    if (HELP.test(text)) return this.help(zh);
    if (TIME.test(text)) return this.time(zh);
    return this.findFaq(text)?.answer;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    return { text: this.answer(request), model: this.descriptor.name, finishReason: 'stop', usage: NO_TOKENS };
  }

  async *stream(request: CompletionRequest): ModelStream {
    yield this.answer(request);
    return { finishReason: 'stop', usage: NO_TOKENS };
  }

  /** The answer to any message: a rule's or the FAQ's, else a pointer to "help". */
  reply(message: string): string {
    return this.answerIfSimple(message) ?? this.fallback(CJK.test(message));
  }

  private answer(request: CompletionRequest): string {
    const lastUser = request.messages.findLast((m) => m.role === 'user');
    return this.reply(lastUser ? textOf(lastUser.content) : '');
  }

  private findFaq(text: string): FaqEntry | undefined {
    this.reloadFaqIfChanged(false);
    return this.faq.find(
      (entry) =>
        text.includes(normalizeText(entry.question)) ||
        entry.keywords.some((keyword) => text.includes(normalizeText(keyword))),
    );
  }

  private help(zh: boolean): string {
    const questions = this.faq.map((entry) => `- ${entry.question}`).join('\n');
    const intro = zh
      ? '我可以打招呼、告诉你现在的时间，并回答常见问题。'
      : 'I can greet you, tell you the time, and answer frequently asked questions.';
    return questions ? `${intro}\n${questions}` : intro;
  }

  private time(zh: boolean): string {
    return this.times.answer(zh ? 'zh' : 'en', this.now());
  }

  private fallback(zh: boolean): string {
    return zh
      ? '抱歉，这个问题我还不会回答。输入“帮助”看看我能做什么。'
      : "Sorry, I don't know that one yet. Type \"help\" to see what I can do.";
  }

  /**
   * Picks up edits to faq.json without a restart. At start a broken file is an error; later a
   * broken edit keeps the last good FAQ (and the next check tries again).
   */
  private reloadFaqIfChanged(atStart: boolean): void {
    const nowMs = Date.now();
    if (!atStart && nowMs - this.faqCheckedAt < FAQ_RECHECK_MS) return;
    this.faqCheckedAt = nowMs;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.faqFile).mtimeMs;
    } catch {
      this.faq = [];
      this.faqMtimeMs = -1;
      return;
    }
    if (mtimeMs === this.faqMtimeMs) return;
    try {
      this.faq = readFaq(this.faqFile);
      this.faqMtimeMs = mtimeMs;
    } catch (error) {
      if (atStart) throw error;
    }
  }
}

/** Reads and validates a faq.json; throws FaqFileError naming the bad entry. */
export function readFaq(file: string): FaqEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FaqFileError(file, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = faqSchema.safeParse(json);
  if (!parsed.success) {
    const { field, message } = firstProblem(parsed.error);
    throw new FaqFileError(file, `${field || 'the top level'}: ${message}`);
  }
  return parsed.data;
}
