// The chat page: wires the DOM to the gateway (gateway.js) and the stored chats (chats.js).
// Replies are rendered as Markdown by markdown.js, which lets no markup of the model's through;
// everything else the page shows is set as text (textContent).
import './gateway.js'; // sets globalThis.clawdbotGateway: it is shared with Node, see there
import { createParser } from './vendor/eventsource-parser.js';
import { loadApiKey, loadChats, loadCurrentChatId, newChat, saveApiKey, saveChat, saveCurrentChatId, titleFor } from './chats.js';
import { renderMarkdown } from './markdown.js';

const { GatewayClient, GatewayError, describeError: describeFor, modelLabel, replyLabel } = globalThis.clawdbotGateway;

const $ = (id) => document.getElementById(id);
const ui = {
  chatsToggle: $('chats-toggle'),
  chats: $('chats'),
  chatList: $('chat-list'),
  noChats: $('no-chats'),
  newChat: $('new-chat'),
  modelName: $('model-name'),
  keyButton: $('key-button'),
  keyDialog: $('key-dialog'),
  keyForm: $('key-form'),
  keyInput: $('key-input'),
  keyCancel: $('key-cancel'),
  transcript: $('transcript'),
  emptyTranscript: $('empty-transcript'),
  error: $('error'),
  composer: $('composer'),
  message: $('message'),
  send: $('send'),
  stop: $('stop'),
};

const ROLE_LABELS = { user: 'You', assistant: 'clawdbot', error: 'Error' };
// Refused before the gateway did anything with the message: it goes back into the box.
const REFUSED_STATUSES = new Set([400, 401, 413, 429]);

let apiKey = loadApiKey();
let gateway = connect(apiKey);
let chats = loadChats();
let current = chats.find((chat) => chat.localId === loadCurrentChatId()) ?? newChat();
/** The reply being streamed, so that Stop and Escape can end it. */
let inFlight = null;
/** The model answering on the gateway, as /v1/models or the last reply from it said. */
let currentModel;

function connect(key) {
  // The page's own directory: the gateway's routes sit next to it, behind a path prefix too.
  return new GatewayClient({ baseUrl: new URL('.', document.baseURI), apiKey: key, channel: 'web', createParser });
}

function describeError(error) {
  return describeFor(error, { gateway: 'the gateway', key: 'the API key' });
}

function showModel(model) {
  currentModel = model;
  ui.modelName.textContent = modelLabel(model);
}

function showError(text) {
  ui.error.textContent = text;
}

function clearError() {
  ui.error.textContent = '';
}

function isNearBottom() {
  const t = ui.transcript;
  return t.scrollHeight - t.scrollTop - t.clientHeight < 48;
}

function scrollToBottom() {
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

/** Sets a message's text: Markdown for the bot's replies, plain text for the rest. */
function setText(body, text) {
  if (body.classList.contains('markdown')) renderMarkdown(body, text);
  else body.textContent = text;
}

/**
 * The label above a reply: which model answered it, so that a reply the rules engine kept
 * (hybrid routing) is told apart from one of the model the gateway was switched to.
 */
function labelReply(body, model) {
  if (model) body.parentElement.querySelector('.who').textContent = `${ROLE_LABELS.assistant} · ${replyLabel(model, currentModel)}`;
}

/** Adds one message to the transcript and returns the element holding its text. */
function appendMessage(role, text, model) {
  ui.emptyTranscript.hidden = true;
  const item = document.createElement('div');
  item.className = `message ${role}`;
  const who = document.createElement('p');
  who.className = 'who';
  who.textContent = ROLE_LABELS[role];
  const body = document.createElement('div');
  body.className = role === 'assistant' ? 'text markdown' : 'text';
  item.append(who, body);
  ui.transcript.append(item);
  setText(body, text);
  labelReply(body, model);
  return body;
}

function renderTranscript() {
  ui.transcript.querySelectorAll('.message').forEach((node) => node.remove());
  ui.emptyTranscript.hidden = current.messages.length > 0;
  for (const message of current.messages) appendMessage(message.role, message.text, message.model);
  scrollToBottom();
}

function renderChatList() {
  ui.chatList.replaceChildren(
    ...chats.map((chat) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'chat-link';
      button.textContent = chat.title;
      button.disabled = inFlight !== null;
      if (chat.localId === current.localId) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => switchTo(chat));
      item.append(button);
      return item;
    }),
  );
  ui.noChats.hidden = chats.length > 0;
}

function setChatsOpen(open) {
  ui.chats.classList.toggle('open', open);
  ui.chatsToggle.setAttribute('aria-expanded', String(open));
}

function switchTo(chat) {
  current = chat;
  if (chats.includes(chat)) saveCurrentChatId(chat.localId);
  clearError();
  renderChatList();
  renderTranscript();
  setChatsOpen(false);
  ui.message.focus();
}

function setStreaming(controller) {
  inFlight = controller;
  const streaming = controller !== null;
  ui.transcript.setAttribute('aria-busy', String(streaming));
  ui.send.hidden = streaming;
  ui.stop.hidden = !streaming;
  ui.newChat.disabled = streaming;
  renderChatList();
}

function openKeyDialog() {
  ui.keyInput.value = apiKey;
  ui.keyDialog.showModal();
  ui.keyInput.focus();
}

async function refreshModel() {
  try {
    showModel(await gateway.currentModel());
  } catch (error) {
    ui.modelName.textContent = 'not connected';
    showError(describeError(error));
    if (error instanceof GatewayError && error.status === 401) openKeyDialog();
  }
}

async function send(text) {
  clearError();
  const chat = current;
  const userText = appendMessage('user', text);
  const replyText = appendMessage('assistant', '');
  replyText.parentElement.classList.add('streaming');
  scrollToBottom();
  const controller = new AbortController();
  setStreaming(controller);

  let received = '';
  // Deltas can arrive faster than the screen refreshes: render once per frame.
  let frame = 0;
  const renderReceived = () => {
    frame = 0;
    const follow = isNearBottom();
    setText(replyText, received);
    if (follow) scrollToBottom();
  };
  try {
    const final = await gateway.chat({ message: text, sessionId: chat.sessionId ?? undefined, signal: controller.signal }, (delta) => {
      received += delta;
      frame ||= requestAnimationFrame(renderReceived);
    });
    cancelAnimationFrame(frame);
    chat.sessionId = final.sessionId;
    // A reply of another model than the one shown (not the rules engine's hybrid answer) means a switch.
    if (final.model.provider !== 'rules' || currentModel?.provider === 'rules') showModel(final.model);
    setText(replyText, final.reply);
    labelReply(replyText, final.model);
    chat.messages.push({ role: 'user', text }, { role: 'assistant', text: final.reply, model: final.model });
  } catch (error) {
    cancelAnimationFrame(frame);
    if (controller.signal.aborted) {
      const stopped = `${received.trimEnd()} [stopped]`;
      chat.messages.push({ role: 'user', text }, { role: 'assistant', text: stopped });
      setText(replyText, stopped);
    } else if (error instanceof GatewayError && REFUSED_STATUSES.has(error.status)) {
      userText.parentElement.remove();
      replyText.parentElement.remove();
      ui.emptyTranscript.hidden = chat.messages.length > 0;
      if (!ui.message.value) ui.message.value = text;
      showError(describeError(error));
      if (error.status === 401) openKeyDialog();
    } else {
      const description = describeError(error);
      chat.messages.push({ role: 'user', text });
      if (received) {
        chat.messages.push({ role: 'assistant', text: received });
        setText(replyText, received);
      } else replyText.parentElement.remove();
      chat.messages.push({ role: 'error', text: description });
      appendMessage('error', description);
      showError(description);
    }
  } finally {
    replyText.parentElement.classList.remove('streaming');
    if (chat.messages.length > 0) {
      if (chat.title === 'New chat') chat.title = titleFor(text);
      chat.updatedAt = Date.now();
      chats = saveChat(chat);
      if (chat === current) saveCurrentChatId(chat.localId);
    }
    setStreaming(null);
  }
}

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.message.value;
  if (!text.trim() || inFlight) return;
  if (!apiKey) {
    openKeyDialog();
    return;
  }
  ui.message.value = '';
  ui.message.focus();
  void send(text);
});

ui.message.addEventListener('keydown', (event) => {
  // isComposing: Enter that confirms a Chinese/Japanese IME candidate must not send.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  } else if (event.key === 'Escape' && inFlight) {
    inFlight.abort();
  }
});

// The copy button of a code block (markdown.js draws it).
ui.transcript.addEventListener('click', (event) => {
  const button = event.target.closest('.copy-code');
  if (!button) return;
  const code = button.closest('.code-block').querySelector('pre code').textContent;
  // Browsers give the clipboard to https:// and localhost pages only, not to http://<LAN address>.
  const copied = navigator.clipboard ? navigator.clipboard.writeText(code) : Promise.reject(new Error('no clipboard here'));
  copied.then(
    () => flashLabel(button, 'Copied'),
    () => flashLabel(button, 'Copy failed: select the code instead'),
  );
});

function flashLabel(button, text) {
  button.textContent = text;
  setTimeout(() => (button.textContent = 'Copy'), 2000);
}

ui.stop.addEventListener('click', () => {
  inFlight?.abort();
  ui.message.focus();
});

ui.newChat.addEventListener('click', () => {
  switchTo(current.messages.length === 0 ? current : newChat());
});

ui.chatsToggle.addEventListener('click', () => {
  const open = !ui.chats.classList.contains('open');
  setChatsOpen(open);
  if (open) ui.newChat.focus();
});

ui.chats.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && ui.chats.classList.contains('open')) {
    setChatsOpen(false);
    ui.chatsToggle.focus();
  }
});

ui.keyButton.addEventListener('click', openKeyDialog);
ui.keyCancel.addEventListener('click', () => ui.keyDialog.close());
ui.keyDialog.addEventListener('close', () => (apiKey ? ui.message : ui.keyButton).focus());

ui.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = ui.keyInput.value.trim();
  if (!key) return;
  apiKey = key;
  gateway = connect(key);
  saveApiKey(key);
  ui.keyDialog.close();
  clearError();
  void refreshModel();
});

renderChatList();
renderTranscript();
if (apiKey) void refreshModel();
else openKeyDialog();
