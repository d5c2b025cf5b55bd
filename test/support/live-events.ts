import { type Message, type SessionEvents } from '@wa-sync/shared/contracts';
import { type Store } from '@wa-sync/shared/store';
import { type EventLog } from '@wa-sync/shared/runtime';

/** Message k of a chat, as the runner would store and announce it. */
export function liveMessage(sessionId: string, chatId: string, k: number, timestamp = new Date().toISOString()): SessionEvents['message:new'] {
  return {
    sessionId,
    id: `false_${chatId}_LIVE${String(k).padStart(6, '0')}`,
    chatId,
    fromMe: false,
    author: null,
    body: `live #${k}`,
    type: 'chat',
    timestamp,
    ack: 1,
    hasMedia: false,
  };
}

/** Appends `message:new` k = from…to-1 to the session's log (and so to every API), returns their ids in order. */
export async function appendLive(log: EventLog, sessionId: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let k = from; k < to; k++) ids.push(await log.append(sessionId, 'message:new', liveMessage(sessionId, 'c1@c.us', k)));
  return ids;
}

/**
 * A stored account: `chats` chats with `perChat` messages each, the newest chat most recent, all
 * within the last days. Returns the chat ids, newest activity first.
 */
export async function seedHistory(store: Store, sessionId: string, chats: number, perChat: number, now = Date.now()): Promise<string[]> {
  await store.ensureSession(sessionId);
  const ids: string[] = [];
  for (let c = 0; c < chats; c++) {
    const chatId = `${1000 + c}@c.us`;
    ids.push(chatId);
    // Chat c's newest message is c minutes old; messages one second apart.
    const newest = now - c * 60_000;
    const messages: Message[] = [];
    for (let m = 0; m < perChat; m++) {
      messages.push({
        id: `false_${chatId}_M${String(m).padStart(5, '0')}`,
        chatId,
        fromMe: m % 3 === 0,
        author: null,
        body: `chat ${c} message ${m}`,
        type: 'chat',
        timestamp: new Date(newest - (perChat - 1 - m) * 1000).toISOString(),
        ack: 2,
        hasMedia: false,
      });
    }
    await store.upsertChats(sessionId, [{ id: chatId, name: `Chat ${c}`, isGroup: false, unreadCount: 0, lastMessageAt: new Date(newest).toISOString() }]);
    await store.upsertMessages(sessionId, chatId, messages);
  }
  return ids;
}
