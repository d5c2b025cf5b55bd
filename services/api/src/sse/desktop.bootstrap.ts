import type { ChatHistory } from '@wa-sync/shared/store';
import type { ApiDeps } from '../api.deps';
import { sseEvent } from '../stream/frame.cache';
import type { SseWriter } from './sse.writer';

/** Chats read at once for their names (a round trip each on MongoDB). */
const NAME_CONCURRENCY = 32;

/**
 * Seed 000's desktop bootstrap: `sync:initial` (the conversations), one `message:sync` per
 * message, oldest first within a conversation, newest conversation first; `sync:complete` is
 * written by the caller, with the log position it took before this read the store.
 * Returns the number of messages written.
 */
export async function writeDesktopBootstrap(
  deps: ApiDeps,
  writer: SseWriter,
  sessionId: string,
  window: { days: number; limit: number },
): Promise<number> {
  const history = await deps.store.recentHistory(sessionId, { days: window.days, limitPerChat: window.limit });
  const names = await chatNames(deps, sessionId, history);
  const conversations = history.map((h) => ({
    conversationId: h.chatId,
    name: names.get(h.chatId) ?? h.chatId,
    lastMessageAt: h.lastMessageAt,
    messageCount: h.messages.length,
  }));
  await writer.push(sseEvent('sync:initial', { conversations, days: window.days, limit: window.limit }));
  let count = 0;
  for (const chat of history) {
    // The store answers newest first; the seed sends each conversation oldest first.
    for (let i = chat.messages.length - 1; i >= 0; i--) {
      if (writer.closed) return count;
      await writer.push(sseEvent('message:sync', chat.messages[i]));
      count++;
    }
  }
  return count;
}

async function chatNames(deps: ApiDeps, sessionId: string, history: ChatHistory[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (let i = 0; i < history.length; i += NAME_CONCURRENCY) {
    const chats = await Promise.all(history.slice(i, i + NAME_CONCURRENCY).map((h) => deps.store.getChat(sessionId, h.chatId)));
    for (const chat of chats) if (chat) names.set(chat.id, chat.name);
  }
  return names;
}
