import type { Key } from 'node:readline';
import { describeError, modelLabel, replyLabel, type GatewayClient, type ModelInfo } from './client';
import { HELP_TEXT, parseInput } from './commands';
import { applyEditingKey } from './editing-keys';
import { LineEditor } from './editor';
import { inputWidth, layout, maxScrollBack, type Entry, type Screen } from './layout';
import type { Display } from './terminal';
import { sanitize } from './text';

const IDLE_STATUS = 'Enter: send | /help | PgUp/PgDn: scroll | Ctrl-C: quit';
const STREAMING_STATUS = 'Replying... Esc or Ctrl-C: stop';
const SCROLLED_STATUS = 'Scrolled back | PgDn: newer | Esc: latest';

/**
 * The full-screen chat, apart from the terminal: it takes key presses and resizes, talks to
 * the gateway, and paints frames on a Display. Runs until the person quits.
 */
export class FullScreenChat {
  private readonly editor = new LineEditor();
  private entries: Entry[] = [];
  /** The reply arriving now; undefined when none is. */
  private streaming: string | undefined;
  private inFlight: AbortController | undefined;
  private sessionId: string | undefined;
  private model: ModelInfo | undefined;
  private scrollBack = 0;
  /** A one-off message for the status bar, until the next key. */
  private notice: string | undefined;
  /** Inside a bracketed paste, Enter is a newline in the message, not "send". */
  private pasting = false;
  private paintQueued = false;
  private quit!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.quit = resolve));

  constructor(
    private readonly client: GatewayClient,
    private readonly gatewayUrl: URL,
    private readonly display: Display,
    model: ModelInfo | undefined,
  ) {
    this.model = model;
    this.entries.push({ role: 'info', text: `Connected to ${gatewayUrl.origin}. Type a message, or /help for commands.` });
  }

  /** Paints the whole screen at the display's current size: at start and on every resize. */
  resize(): void {
    this.paint();
  }

  handleKey(text: string | undefined, key: Key): void {
    this.notice = undefined;
    if (this.pasting && key.name !== 'paste-end') {
      if (key.name === 'return' || key.name === 'enter') this.editor.insert('\n');
      // Pasted code keeps its tabs (as spaces); control characters go.
      else if (text) this.editor.insert(sanitize(text));
      this.paint();
      return;
    }
    if (!applyEditingKey(this.editor, key)) {
      if (key.ctrl) this.handleControlKey(key.name);
      else this.handleKeyName(text, key);
    }
    this.paint();
  }

  private handleControlKey(name: string | undefined): void {
    switch (name) {
      case 'c':
        if (this.inFlight) this.inFlight.abort();
        else this.leave();
        return;
      case 'd':
        if (this.editor.isEmpty) this.leave();
        else this.editor.deleteForward();
        return;
    }
  }

  private handleKeyName(text: string | undefined, key: Key): void {
    const page = Math.max(1, this.display.size.rows - 4);
    switch (key.name) {
      case 'paste-start':
        this.pasting = true;
        return;
      case 'paste-end':
        this.pasting = false;
        return;
      case 'return':
      case 'enter':
        return this.submit();
      case 'escape':
        if (this.inFlight) this.inFlight.abort();
        this.scrollBack = 0;
        return;
      case 'pageup':
        this.scrollBack = Math.min(this.scrollBack + page, this.maxScrollBack());
        return;
      case 'pagedown':
        this.scrollBack = Math.max(0, this.scrollBack - page);
        return;
    }
    // Printable input, including what an input method (IME) commits: "你好" arrives as text.
    if (text && !key.meta && sanitize(text) === text) this.editor.insert(text);
  }

  private submit(): void {
    if (this.editor.text.trim() === '') return;
    const input = parseInput(this.editor.text);
    if (input.kind === 'message' && this.inFlight) {
      this.notice = 'Wait for the reply to finish (Esc stops it).';
      return;
    }
    this.editor.take();
    this.scrollBack = 0;
    switch (input.kind) {
      case 'message':
        void this.send(input.text);
        return;
      case 'new':
        this.inFlight?.abort();
        this.sessionId = undefined;
        this.entries = [{ role: 'info', text: 'New session: the bot starts from a clean slate.' }];
        return;
      case 'model':
        void this.showModel();
        return;
      case 'help':
        this.entries.push({ role: 'info', text: HELP_TEXT });
        return;
      case 'quit':
        this.leave();
        return;
      case 'unknown':
        this.entries.push({ role: 'error', text: `Unknown command ${input.command}. Type /help for the list.` });
        return;
    }
  }

  private async send(message: string): Promise<void> {
    // A /new while this reply streams replaces this.entries: the reply's end then lands in
    // the abandoned conversation, not in the new one.
    const entries = this.entries;
    entries.push({ role: 'user', text: message });
    this.streaming = '';
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      const result = await this.client.chat({ message, sessionId: this.sessionId, signal: controller.signal }, (delta) => {
        this.streaming += delta;
        this.queuePaint();
      });
      // The rules engine answering by hybrid routing is no switch: the title keeps the model.
      if (result.model.provider !== 'rules' || this.model?.provider === 'rules') this.model = result.model;
      if (entries === this.entries) this.sessionId = result.sessionId;
      // The title names the model; a reply from another (the rules engine, by hybrid routing) says who.
      const answeredBy = modelLabel(result.model) === modelLabel(this.model) ? undefined : replyLabel(result.model, this.model);
      entries.push({ role: 'assistant', text: result.reply, answeredBy });
    } catch (error) {
      const partial = this.streaming ?? '';
      if (controller.signal.aborted) {
        entries.push(partial ? { role: 'assistant', text: `${partial.trimEnd()} [stopped]` } : { role: 'info', text: 'Stopped.' });
      } else {
        if (partial) entries.push({ role: 'assistant', text: partial });
        entries.push({ role: 'error', text: describeError(error, this.gatewayUrl) });
      }
    } finally {
      this.streaming = undefined;
      this.inFlight = undefined;
      this.paint();
    }
  }

  private async showModel(): Promise<void> {
    try {
      this.model = await this.client.currentModel();
      this.entries.push({ role: 'info', text: `Model: ${modelLabel(this.model)}` });
    } catch (error) {
      this.entries.push({ role: 'error', text: describeError(error, this.gatewayUrl) });
    }
    this.paint();
  }

  private leave(): void {
    this.inFlight?.abort();
    this.quit();
  }

  private get screen(): Screen {
    const session = this.sessionId ? `session ${this.sessionId.slice(0, 8)}` : 'new session';
    let status = IDLE_STATUS;
    if (this.notice) status = this.notice;
    else if (this.inFlight) status = STREAMING_STATUS;
    else if (this.scrollBack > 0) status = SCROLLED_STATUS;
    return {
      title: `clawdbot | ${modelLabel(this.model)} | ${session} | ${this.gatewayUrl.host}`,
      entries: this.entries,
      streaming: this.streaming,
      status,
      scrollBack: this.scrollBack,
    };
  }

  private maxScrollBack(): number {
    const { columns, rows } = this.display.size;
    return maxScrollBack(this.screen, columns, rows);
  }

  /** Deltas can arrive faster than a terminal redraws: paint once per turn of the event loop. */
  private queuePaint(): void {
    if (this.paintQueued) return;
    this.paintQueued = true;
    setImmediate(() => {
      this.paintQueued = false;
      this.paint();
    });
  }

  private paint(): void {
    const { columns, rows } = this.display.size;
    this.display.paint(layout(this.screen, this.editor.view(inputWidth(columns)), columns, rows));
  }
}
