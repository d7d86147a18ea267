// The browser's memory of this user's chats and key, in localStorage. Each chat keeps its
// transcript so that switching back shows the history without asking the gateway.

const KEY_STORAGE = 'clawdbot.apiKey';
const CHATS_STORAGE = 'clawdbot.chats';
const CURRENT_STORAGE = 'clawdbot.currentChat';
const MAX_CHATS = 20;
const MAX_MESSAGES_PER_CHAT = 200;
const TITLE_LENGTH = 48;

export function loadApiKey() {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function saveApiKey(key) {
  localStorage.setItem(KEY_STORAGE, key);
}

/**
 * @typedef {{ role: 'user' | 'assistant' | 'error', text: string }} Message
 * @typedef {{ localId: string, sessionId: string | null, title: string, updatedAt: number, messages: Message[] }} Chat
 */

/** A chat that exists only in the page until its first message is sent. */
export function newChat() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const localId = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return { localId, sessionId: null, title: 'New chat', updatedAt: Date.now(), messages: [] };
}

/** @returns {Chat[]} newest first */
export function loadChats() {
  try {
    const chats = JSON.parse(localStorage.getItem(CHATS_STORAGE) ?? '[]');
    return Array.isArray(chats) ? chats.filter((c) => c && typeof c.localId === 'string' && Array.isArray(c.messages)) : [];
  } catch {
    return [];
  }
}

export function loadCurrentChatId() {
  return localStorage.getItem(CURRENT_STORAGE);
}

export function saveCurrentChatId(localId) {
  localStorage.setItem(CURRENT_STORAGE, localId);
}

export function titleFor(text) {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > TITLE_LENGTH ? `${oneLine.slice(0, TITLE_LENGTH - 1)}…` : oneLine;
}

/** Stores a chat (inserting or moving it to the front) and returns the new list. */
export function saveChat(chat) {
  chat.messages = chat.messages.slice(-MAX_MESSAGES_PER_CHAT);
  let chats = [chat, ...loadChats().filter((c) => c.localId !== chat.localId)].slice(0, MAX_CHATS);
  // A full localStorage drops the oldest chats rather than the one being written.
  for (;;) {
    try {
      localStorage.setItem(CHATS_STORAGE, JSON.stringify(chats));
      return chats;
    } catch (error) {
      if (chats.length <= 1) throw error;
      chats = chats.slice(0, -1);
    }
  }
}
