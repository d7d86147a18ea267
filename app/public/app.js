// The chat page: wires the DOM to the gateway (gateway.js), the stored chats (chats.js) and the
// transcript (transcript.js). Everything the page shows outside replies is set as text.
import './gateway.js'; // sets globalThis.clawdbotGateway: it is shared with Node, see there
import { createParser } from './vendor/eventsource-parser.js';
import { loadApiKey, loadChats, loadCurrentChatId, newChat, saveApiKey, saveChat, saveCurrentChatId, titleFor } from './chats.js';
import { Transcript } from './transcript.js';

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
const transcript = new Transcript(ui, (model) => replyLabel(model, currentModel));

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
  transcript.show(current.messages);
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
  const userText = transcript.append('user', text);
  const replyText = transcript.append('assistant', '');
  replyText.parentElement.classList.add('streaming');
  transcript.scrollToBottom();
  const controller = new AbortController();
  setStreaming(controller);

  let received = '';
  // Deltas can arrive faster than the screen refreshes: render once per frame.
  let frame = 0;
  const renderReceived = () => {
    frame = 0;
    const follow = transcript.isNearBottom();
    transcript.setText(replyText, received);
    if (follow) transcript.scrollToBottom();
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
    transcript.setText(replyText, final.reply);
    transcript.labelReply(replyText, final.model);
    chat.messages.push({ role: 'user', text }, { role: 'assistant', text: final.reply, model: final.model });
  } catch (error) {
    cancelAnimationFrame(frame);
    if (controller.signal.aborted) {
      const stopped = `${received.trimEnd()} [stopped]`;
      chat.messages.push({ role: 'user', text }, { role: 'assistant', text: stopped });
      transcript.setText(replyText, stopped);
    } else if (error instanceof GatewayError && REFUSED_STATUSES.has(error.status)) {
      transcript.remove(userText, replyText);
      if (!ui.message.value) ui.message.value = text;
      showError(describeError(error));
      if (error.status === 401) openKeyDialog();
    } else {
      const description = describeError(error);
      chat.messages.push({ role: 'user', text });
      if (received) {
        chat.messages.push({ role: 'assistant', text: received });
        transcript.setText(replyText, received);
      } else transcript.remove(replyText);
      chat.messages.push({ role: 'error', text: description });
      transcript.append('error', description);
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
transcript.show(current.messages);
if (apiKey) void refreshModel();
else openKeyDialog();
