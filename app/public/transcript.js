// The conversation shown on the page: its messages, the bot's replies rendered as Markdown by
// markdown.js (which lets no markup of the model's through) with the model that answered, the
// scrolling that follows a reply, and the copy buttons of code blocks. Everything else a message
// holds is set as text (textContent).
import { renderMarkdown } from './markdown.js';

export const ROLE_LABELS = { user: 'You', assistant: 'clawdbot', error: 'Error' };

export class Transcript {
  /**
   * @param {{ transcript: HTMLElement, emptyTranscript: HTMLElement }} elements
   * @param {(model: object) => string} labelFor what a reply's label says about its model
   */
  constructor({ transcript, emptyTranscript }, labelFor) {
    this.element = transcript;
    this.empty = emptyTranscript;
    this.labelFor = labelFor;
    this.element.addEventListener('click', (event) => copyCode(event.target.closest('.copy-code')));
  }

  isNearBottom() {
    const t = this.element;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 48;
  }

  scrollToBottom() {
    this.element.scrollTop = this.element.scrollHeight;
  }

  /** Sets a message's text: Markdown for the bot's replies, plain text for the rest. */
  setText(body, text) {
    if (body.classList.contains('markdown')) renderMarkdown(body, text);
    else body.textContent = text;
  }

  /**
   * The label above a reply: which model answered it, so that a reply the rules engine kept
   * (hybrid routing) is told apart from one of the model the gateway was switched to.
   */
  labelReply(body, model) {
    if (model) body.parentElement.querySelector('.who').textContent = `${ROLE_LABELS.assistant} · ${this.labelFor(model)}`;
  }

  /** Adds one message and returns the element holding its text. */
  append(role, text, model) {
    this.empty.hidden = true;
    const item = document.createElement('div');
    item.className = `message ${role}`;
    const who = document.createElement('p');
    who.className = 'who';
    who.textContent = ROLE_LABELS[role];
    const body = document.createElement('div');
    body.className = role === 'assistant' ? 'text markdown' : 'text';
    item.append(who, body);
    this.element.append(item);
    this.setText(body, text);
    this.labelReply(body, model);
    return body;
  }

  /** Removes the messages of these text elements; the hint shows again when none is left. */
  remove(...bodies) {
    for (const body of bodies) body.parentElement.remove();
    this.empty.hidden = this.element.querySelector('.message') !== null;
  }

  /** Shows a chat's messages in place of what is shown. */
  show(messages) {
    this.element.querySelectorAll('.message').forEach((node) => node.remove());
    this.empty.hidden = messages.length > 0;
    for (const message of messages) this.append(message.role, message.text, message.model);
    this.scrollToBottom();
  }
}

// The copy button of a code block (markdown.js draws it).
function copyCode(button) {
  if (!button) return;
  const code = button.closest('.code-block').querySelector('pre code').textContent;
  // Browsers give the clipboard to https:// and localhost pages only, not to http://<LAN address>.
  const copied = navigator.clipboard ? navigator.clipboard.writeText(code) : Promise.reject(new Error('no clipboard here'));
  copied.then(
    () => flashLabel(button, 'Copied'),
    () => flashLabel(button, 'Copy failed: select the code instead'),
  );
}

function flashLabel(button, text) {
  button.textContent = text;
  setTimeout(() => (button.textContent = 'Copy'), 2000);
}
