// The web chat page in a real browser: Debian's Chromium driven by playwright-core, against
// an in-process gateway whose model is a fake OpenAI-compatible server.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FakeLLM } from '../helpers/fake-llm';
import { startGateway, startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

jest.setTimeout(60_000);

const ARTIFACTS = path.resolve(__dirname, '../../test-results');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let browser: Browser;
let gw: TestGateway & { fake: FakeLLM };
/** Script errors and CSP violations seen on any page: there must be none. */
const pageProblems: string[] = [];

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // The deliberate 401/429/502/504 answers are logged by Chromium as failed loads; anything else is a problem.
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|429|502|504)/.test(message.text())) {
      pageProblems.push(`console: ${message.text()}`);
    }
  });
  return page;
}

const transcriptMessages = (page: Page) => page.locator('#transcript .message');
const lastReply = (page: Page) => page.locator('#transcript .message.assistant .text').last();
const errorBanner = (page: Page) => page.getByRole('alert');

async function enterKey(page: Page, key: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'API key' });
  await input.fill(key);
  await input.press('Enter');
}

async function sendMessage(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // A stalled stream turns into a mid-stream model_timeout error this soon.
  gw = await startGatewayWithFakeModel({ MODEL_TIMEOUT_SECONDS: '3' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('web chat page in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    page = await newPage(context);
  });
  afterAll(() => context.close());

  it('asks for the API key first, keeps it across reloads, and shows the model', async () => {
    await page.goto(gw.url);
    await expect(page.getByRole('dialog', { name: 'Connect with an API key' }).isVisible()).resolves.toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('key-input');
    await enterKey(page, gw.apiKey);
    await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('message');

    await page.reload();
    await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
    expect(await page.getByRole('dialog').isVisible()).toBe(false);
  });

  it('streams the reply in as it arrives, and Stop keeps what came', async () => {
    gw.fake.enqueue({ text: 'first words arrive and then the model goes quiet', stallAfterChunks: 3 });
    await sendMessage(page, 'Tell me something slowly');
    await page.locator('#transcript .message.assistant.streaming').waitFor();
    await page.waitForFunction(() => document.querySelector('#transcript .message.assistant:last-child .text')?.textContent === 'first words arrive');
    expect(await page.locator('#transcript').getAttribute('aria-busy')).toBe('true');
    expect(await page.getByRole('button', { name: 'Stop' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Send' }).isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    expect(await lastReply(page).textContent()).toBe('first words arrive [stopped]');
    expect(await page.locator('#transcript').getAttribute('aria-busy')).toBe('false');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('message');
  });

  it('shows a complete streamed reply', async () => {
    gw.fake.enqueue({ text: 'A complete answer, delivered in several pieces.' });
    await sendMessage(page, 'And now the whole answer');
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    expect(await lastReply(page).textContent()).toBe('A complete answer, delivered in several pieces.');
    expect(await page.locator('#transcript .message.user .text').last().textContent()).toBe('And now the whole answer');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-desktop.png') });
  });

  it('renders model output as text, never as markup', async () => {
    gw.fake.enqueue({ text: '<img src=x onerror="window.__owned=1"> <b>not bold</b>' });
    await sendMessage(page, 'Reply with some HTML');
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    expect(await lastReply(page).textContent()).toBe('<img src=x onerror="window.__owned=1"> <b>not bold</b>');
    expect(await page.locator('#transcript img, #transcript b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
  });

  it('starts a new chat and switches back to the earlier one, history and session included', async () => {
    const firstChatMessages = await transcriptMessages(page).count();
    await page.getByRole('button', { name: 'New chat' }).click();
    expect(await transcriptMessages(page).count()).toBe(0);
    expect(await page.getByText('Ask anything.').isVisible()).toBe(true);

    await sendMessage(page, 'A second, separate chat');
    await page.getByText('echo: A second, separate chat').waitFor();
    const chats = page.getByRole('navigation', { name: 'Recent chats' }).getByRole('button', { name: /Tell me something slowly|A second, separate chat/ });
    expect(await chats.allTextContents()).toEqual(['A second, separate chat', 'Tell me something slowly']);
    // Long titles end in an ellipsis inside the list rather than spilling out of it.
    const list = await page.getByRole('navigation', { name: 'Recent chats' }).boundingBox();
    for (const box of await Promise.all((await chats.all()).map((chat) => chat.boundingBox()))) {
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual((list?.x ?? 0) + (list?.width ?? 0));
    }

    await page.getByRole('button', { name: 'Tell me something slowly' }).click();
    expect(await transcriptMessages(page).count()).toBe(firstChatMessages);
    expect(await page.getByRole('button', { name: 'Tell me something slowly' }).getAttribute('aria-current')).toBe('true');
    await sendMessage(page, 'Back in the first chat');
    await page.getByText('echo: Back in the first chat').waitFor();
    // The gateway continued the first chat's session: the model saw its history.
    const seen = gw.fake.completions().at(-1)?.body.messages.map((m: { content: string }) => m.content);
    expect(seen).toEqual(expect.arrayContaining(['And now the whole answer', 'A complete answer, delivered in several pieces.', 'Back in the first chat']));
    expect(seen).not.toContain('A second, separate chat');

    await page.reload();
    await page.getByText('echo: Back in the first chat').waitFor();
    expect(await chats.count()).toBe(2);
  });

  it('explains a model failure or timeout before a reply, and one in the middle of it', async () => {
    const lastTwoMessages = () =>
      transcriptMessages(page).evaluateAll((nodes) => nodes.slice(-2).map((node) => [node.className, node.querySelector('.text')?.textContent]));

    gw.fake.enqueue({ status: 401 });
    await sendMessage(page, 'Is the model there?');
    await errorBanner(page).getByText(/The model is not available right now/).waitFor();
    expect(await page.locator('#transcript .message.error').last().textContent()).toContain('The model is not available right now');

    // The model never answers: after MODEL_TIMEOUT_SECONDS the gateway answers 504 before any reply.
    gw.fake.enqueue({ hang: true });
    const timedOut = page.waitForResponse((response) => response.url().endsWith('/api/chat') && response.status() === 504);
    await sendMessage(page, 'Anyone home?');
    await timedOut;
    await errorBanner(page).getByText('The model did not answer in time. Try again in a moment.').waitFor();
    expect(await lastTwoMessages()).toEqual([
      ['message user', 'Anyone home?'],
      ['message error', 'The model did not answer in time. Try again in a moment.'],
    ]);

    gw.fake.enqueue({ text: 'half an answer and then silence', stallAfterChunks: 2 });
    await sendMessage(page, 'Try once more');
    await page.waitForFunction(() => document.querySelector('#transcript .message.assistant:last-of-type .text')?.textContent === 'half an');
    await errorBanner(page).getByText('The model did not answer in time. Try again in a moment.').waitFor();
    expect(await lastReply(page).textContent()).toBe('half an');

    gw.fake.enqueue({ text: 'back to normal' });
    await sendMessage(page, 'Working again?');
    await page.getByText('back to normal').waitFor();
    expect(await page.locator('#error').textContent()).toBe('');
  });

  it('says when the key is rejected and asks for another', async () => {
    await page.getByRole('button', { name: 'API key' }).click();
    await enterKey(page, 'wrong-key-0123456789');
    await errorBanner(page).getByText("The gateway rejected the API key. Use one of the gateway's API keys.").waitFor();
    expect(await page.getByRole('dialog').isVisible()).toBe(true);
    expect(await page.getByText('not connected').isVisible()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('key-input');

    await enterKey(page, gw.apiKey);
    await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
    expect(await page.locator('#error').textContent()).toBe('');
  });

  it('gives every control a name, and text and input borders WCAG AA contrast in light and dark schemes', async () => {
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('button, textarea, input'))
        .filter((el) => !((el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.textContent?.trim()))
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);

    // The error banner and the key dialog are measured too.
    gw.fake.enqueue({ status: 401 });
    await sendMessage(page, 'Fail once more, for the banner');
    await errorBanner(page).getByText(/The model is not available right now/).waitFor();
    await page.getByRole('button', { name: 'API key' }).click();
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const { texts, inputBorders } = await page.evaluate(() => {
        const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
        const luminance = ([r, g, b]: number[]) => {
          const channel = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
          return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        };
        const contrast = (one: string, other: string) => {
          const [a, b] = [luminance(rgb(one)), luminance(rgb(other))];
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        };
        const background = (el: Element | null): string => {
          for (let node = el; node; node = node.parentElement) {
            const bg = getComputedStyle(node).backgroundColor;
            if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg;
          }
          return getComputedStyle(document.body).backgroundColor;
        };
        // Disabled controls are exempt from the contrast rule (WCAG 1.4.3).
        const shown = (el: Element) => el.getClientRects().length > 0 && !(el as HTMLButtonElement).disabled;
        const ownText = (el: Element) => Array.from(el.childNodes).some((node) => node.nodeType === Node.TEXT_NODE && node.textContent?.trim());
        return {
          texts: Array.from(document.body.querySelectorAll('*'))
            .filter((el) => shown(el) && ownText(el))
            .map((el) => ({ text: el.textContent?.trim().slice(0, 40), ratio: contrast(getComputedStyle(el).color, background(el)) })),
          // A text box is found by its border (WCAG 1.4.11: 3:1 against what surrounds it).
          inputBorders: Array.from(document.querySelectorAll('textarea, input'))
            .filter(shown)
            .map((el) => ({ id: el.id, ratio: contrast(getComputedStyle(el).borderTopColor, background(el.parentElement)) })),
        };
      });
      expect(texts.length).toBeGreaterThan(20);
      expect(texts.map((t) => t.text)).toEqual(expect.arrayContaining(['Connect with an API key', expect.stringMatching(/^The model is not available/)]));
      expect([colorScheme, texts.filter((t) => t.ratio < 4.5)]).toEqual([colorScheme, []]);
      expect(inputBorders.map((b) => b.id).sort()).toEqual(['key-input', 'message']);
      expect([colorScheme, inputBorders.filter((b) => b.ratio < 3)]).toEqual([colorScheme, []]);
    }
    await page.keyboard.press('Escape');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows a model switched while the page is open, with the next reply', async () => {
    const switchTo = async (name: string) => {
      const response = await fetch(`${gw.url}/admin/model`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'openai', name, endpoint: gw.fake.url }),
      });
      expect(response.status).toBe(200);
    };
    await switchTo('fake-gpt-next');
    try {
      await sendMessage(page, 'Who answers now?');
      await page.getByText('echo: Who answers now?').waitFor();
      expect(await page.locator('#model-name').textContent()).toBe('fake-gpt-next (openai)');
    } finally {
      await switchTo('fake-gpt');
    }
  });
});

const MARKDOWN_REPLY = [
  '## Reading a file',
  '',
  'Use **`pathlib`**, it is *short*:',
  '',
  '```python',
  'from pathlib import Path',
  'text = Path("notes.txt").read_text()',
  '```',
  '',
  '- one',
  '- two',
  '',
  '| option | default |',
  '|:--|--:|',
  '| size | 10 |',
].join('\n');

const HOSTILE_REPLY = [
  '<script>window.__owned = "script"</script>',
  '<img src="x" onerror="window.__owned = \'onerror\'">',
  '<style>body { background: url(https://evil.example/style.png) }</style>',
  '<link rel="stylesheet" href="https://evil.example/sheet.css">',
  '<iframe src="https://evil.example/frame"></iframe>',
  '![tracker](https://evil.example/pixel.png)',
  '[click me](javascript:window.__owned="link")',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '```html" onmouseover="window.__owned=\'info\'',
  '<b>code</b>',
  '```',
  'Plain link: https://example.org/docs',
].join('\n\n');

describe('web chat page rendering Markdown', () => {
  let context: BrowserContext;
  let page: Page;
  /** Requests the page made to any other host than the gateway, and dialogs it opened. */
  const leaks: string[] = [];
  beforeAll(async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    page = await newPage(context);
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== gw.url) leaks.push(`request: ${request.url()}`);
    });
    page.on('dialog', (dialog) => {
      leaks.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(gw.url);
    await enterKey(page, gw.apiKey);
    await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
  });
  afterAll(() => context.close());

  it('renders headings, emphasis, lists, tables and highlighted code with a copy button', async () => {
    gw.fake.enqueue({ text: MARKDOWN_REPLY });
    await sendMessage(page, 'How do I read a file in Python?');
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    const reply = lastReply(page);
    expect(await reply.locator('h2').textContent()).toBe('Reading a file');
    expect(await reply.locator('strong code').textContent()).toBe('pathlib');
    expect(await reply.locator('em').textContent()).toBe('short');
    expect(await reply.locator('li').allTextContents()).toEqual(['one', 'two']);
    expect(await reply.locator('td').allTextContents()).toEqual(['size', '10']);
    expect(await reply.locator('td').evaluateAll((cells) => cells.map((cell) => getComputedStyle(cell).textAlign))).toEqual(['left', 'right']);
    expect(await reply.locator('.code-language').textContent()).toBe('python');
    expect(await reply.locator('pre code .hljs-keyword').first().textContent()).toBe('from');

    await reply.getByRole('button', { name: 'Copy' }).click();
    await reply.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('from pathlib import Path\ntext = Path("notes.txt").read_text()\n');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-markdown.png') });
  });

  it('keeps finished blocks in place while the rest streams in (no flicker)', async () => {
    gw.fake.enqueue({ text: `First paragraph, complete.\n\n${'more words '.repeat(12)}`, stallAfterChunks: 8 });
    await sendMessage(page, 'Stream two paragraphs');
    await page.waitForFunction(() => document.querySelectorAll('#transcript .message.assistant:last-child .text p').length === 2);
    // Marks the DOM node of the first paragraph (a property, not an attribute: the content stays
    // the same); a re-render that replaced the node would lose the mark.
    const firstParagraph = () => document.querySelector('#transcript .message.assistant:last-child .text p') as HTMLElement & { seen?: boolean };
    await page.evaluate(`(${firstParagraph})().seen = true`);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    expect(await lastReply(page).locator('p').allTextContents()).toEqual(['First paragraph, complete.', expect.stringMatching(/^more words .*\[stopped\]$/)]);
    expect(await page.evaluate(`(${firstParagraph})().seen`)).toBe(true);
  });

  it('runs nothing and loads nothing from hostile model output', async () => {
    gw.fake.enqueue({ text: HOSTILE_REPLY });
    await sendMessage(page, 'Reply with something nasty');
    await page.locator('#transcript .message.assistant.streaming').waitFor({ state: 'detached' });
    const reply = lastReply(page);
    expect(await reply.locator('script, img, style, link, iframe, [onerror], [onmouseover]').count()).toBe(0);
    // Links are to http(s) only (addresses in the text become links; following one is the person's choice).
    const links = await reply.locator('a').evaluateAll((anchors) => anchors.map((a) => [new URL((a as HTMLAnchorElement).href).protocol, a.getAttribute('rel')]));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter(([protocol, rel]) => protocol !== 'https:' || rel !== 'noopener noreferrer')).toEqual([]);
    // What the model wrote is shown as text.
    expect(await reply.textContent()).toContain('<script>window.__owned = "script"</script>');
    await reply.locator('pre').hover();
    expect(await page.evaluate(() => (window as unknown as { __owned?: string }).__owned)).toBeUndefined();
    expect(leaks).toEqual([]);
  });
});

/** The focused element: its id, else its text. */
const focused = (page: Page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim());

/** Waits for `name` (see focused) to have focus: some moves come an event later (a dialog's close). */
async function focusMovesTo(page: Page, name: string): Promise<void> {
  const moved = await page
    .waitForFunction((expected) => (document.activeElement?.id || document.activeElement?.textContent?.trim()) === expected, name, { timeout: 5_000 })
    .then(() => true, () => false);
  expect([moved, await focused(page)]).toEqual([true, name]);
}

/** Presses Tab until `name` (see focused) has focus. */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let press = 0; press < 12; press += 1) {
    await page.keyboard.press('Tab');
    if ((await focused(page)) === name) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

describe('web chat page by keyboard alone', () => {
  it('reaches and works every control from the keyboard, with the focus always visible', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    try {
      const page = await newPage(context);
      await page.goto(gw.url);
      await page.keyboard.type(gw.apiKey);
      await page.keyboard.press('Enter');
      await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
      await page.keyboard.type('Typed, not clicked');
      await page.keyboard.press('Enter');
      await page.getByText('echo: Typed, not clicked').waitFor();
      gw.fake.enqueue({ text: 'this reply is cut short by Escape', stallAfterChunks: 2 });
      await page.keyboard.type('Stop it with Escape');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#transcript .message.assistant:last-child .text')?.textContent === 'this reply');
      await page.keyboard.press('Escape');
      await page.getByText('this reply [stopped]').waitFor();

      // From the top, Tab goes through the controls in reading order, each with a visible focus ring.
      await page.reload();
      await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
      const stops: Array<{ name: string | undefined; ring: boolean }> = [];
      for (let press = 0; press < 7; press += 1) {
        await page.keyboard.press('Tab');
        stops.push(
          await page.evaluate(() => {
            const el = document.activeElement as HTMLElement;
            const style = getComputedStyle(el);
            return { name: el.id || el.textContent?.trim(), ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
          }),
        );
      }
      expect(stops).toEqual(
        ['Skip to the message box', 'key-button', 'new-chat', 'Typed, not clicked', 'transcript', 'message', 'send'].map((name) => ({ name, ring: true })),
      );

      await page.reload();
      await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await focusMovesTo(page, 'message');

      await tabTo(page, 'new-chat');
      await page.keyboard.press('Enter');
      expect(await transcriptMessages(page).count()).toBe(0);
      await focusMovesTo(page, 'message');
      await tabTo(page, 'Typed, not clicked');
      await page.keyboard.press('Enter');
      expect(await transcriptMessages(page).count()).toBe(4);
      await focusMovesTo(page, 'message');

      await tabTo(page, 'key-button');
      await page.keyboard.press('Enter');
      expect(await page.getByRole('dialog').isVisible()).toBe(true);
      await focusMovesTo(page, 'key-input');
      await page.keyboard.press('Escape');
      expect(await page.getByRole('dialog').isVisible()).toBe(false);
      await focusMovesTo(page, 'message');
    } finally {
      await context.close();
    }
  });
});

describe('web chat page on a phone-sized screen', () => {
  it('puts the chat list in a drawer, fits the width and keeps controls finger-sized', async () => {
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    /** Controls on screen that are less than 44 px high (WCAG 2.5.5's target size). */
    const smallControls = (page: Page) =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('button, textarea, input'))
          .filter((el) => el.getClientRects().length > 0)
          .map((el) => ({ name: el.id || el.textContent?.trim(), height: el.getBoundingClientRect().height }))
          .filter((control) => control.height < 44),
      );
    try {
      const page = await newPage(context);
      await page.goto(gw.url);
      const dialog = await page.getByRole('dialog').boundingBox();
      expect((dialog?.x ?? -1) >= 0 && (dialog?.x ?? 0) + (dialog?.width ?? Infinity) <= PHONE.width).toBe(true);
      expect(await smallControls(page)).toEqual([]);
      await enterKey(page, gw.apiKey);
      gw.fake.enqueue({ text: 'Replies fit a phone screen too, wrapping long lines instead of scrolling sideways.' });
      await sendMessage(page, 'Hello from a phone');
      await page.getByText(/wrapping long lines/).waitFor();

      const chatList = page.getByRole('navigation', { name: 'Recent chats' });
      expect(await chatList.isVisible()).toBe(false);
      const toggle = page.getByRole('button', { name: 'Chats' });
      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      expect(await chatList.isVisible()).toBe(true);
      expect(await smallControls(page)).toEqual([]);
      await chatList.getByRole('button', { name: 'Hello from a phone' }).click();
      expect(await chatList.isVisible()).toBe(false);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('message');

      // With a keyboard (a tablet's, say): Enter opens the drawer into it, Escape closes it back.
      await toggle.focus();
      await page.keyboard.press('Enter');
      await focusMovesTo(page, 'new-chat');
      expect(await chatList.isVisible()).toBe(true);
      await page.keyboard.press('Escape');
      await focusMovesTo(page, 'chats-toggle');
      expect([await chatList.isVisible(), await toggle.getAttribute('aria-expanded')]).toEqual([false, 'false']);
      expect(await smallControls(page)).toEqual([]);

      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-phone.png') });
    } finally {
      await context.close();
    }
  });
});

describe('web chat page with hybrid routing', () => {
  it('labels a reply the rules engine kept, and keeps showing the model the gateway runs', async () => {
    const hybrid = await startGatewayWithFakeModel({ ROUTING: 'hybrid' });
    const context = await browser.newContext({ viewport: DESKTOP });
    try {
      const page = await newPage(context);
      await page.goto(hybrid.url);
      await enterKey(page, hybrid.apiKey);
      await page.locator('#model-name').getByText('fake-gpt (openai)').waitFor();
      await sendMessage(page, 'hello');
      await page.getByText('Hello! I am clawdbot. How can I help?').waitFor();
      expect(await page.locator('#transcript .message.assistant .who').last().textContent()).toBe(
        'clawdbot · rules (hybrid routing; fake-gpt (openai) answers the rest)',
      );
      expect(await page.locator('#model-name').textContent()).toBe('fake-gpt (openai)');
      await sendMessage(page, 'Tell me a story');
      await page.getByText('echo: Tell me a story').waitFor();
      expect(await page.locator('#transcript .message.assistant .who').last().textContent()).toBe('clawdbot · fake-gpt (openai)');
    } finally {
      await context.close();
      await hybrid.close();
    }
  });
});

describe('web chat page when rate limited', () => {
  it('says how long to wait and keeps the message', async () => {
    // One API call per 50 s: loading the model label spends it, so the message gets a 429.
    const limited = await startGateway({ RATE_LIMIT_QPS: '0.02' });
    const context = await browser.newContext({ viewport: DESKTOP });
    try {
      const page = await newPage(context);
      await page.goto(limited.url);
      await enterKey(page, limited.apiKey);
      await page.getByText('rules', { exact: true }).waitFor();
      await sendMessage(page, 'Too fast?');
      const banner = await errorBanner(page).getByText(/^Too many requests: the gateway is rate limiting\. Try again in \d+ seconds\.$/).textContent();
      expect(Number(banner?.match(/\d+/)?.[0])).toBeGreaterThan(0);
      expect(await page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('Too fast?');
      expect(await transcriptMessages(page).count()).toBe(0);
    } finally {
      await context.close();
      await limited.close();
    }
  });
});

describe('web chat page overall', () => {
  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(pageProblems).toEqual([]);
  });
});
