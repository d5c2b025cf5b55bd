import type { Chat, ChatInput, Message } from '../domain.schemas';
import type { Store } from './store.interface';

/** Test data for the store contract (a `.contract.ts` file so that the build leaves it out). */

export type GetStore = () => Store;

let seq = 0;
/** A session id no other test (or run against a shared MongoDB) uses; matches the session id alphabet. */
export function uniqueSessionId(label: string): string {
  seq += 1;
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return `${label}-${run}-${seq}`.slice(0, 64);
}

export const T0 = Date.parse('2024-03-01T12:00:00.000Z');
export const MINUTE = 60_000;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Message n of a chat, n minutes after T0 unless overridden. */
export function message(chatId: string, n: number, over: Partial<Message> = {}): Message {
  return {
    id: `${n % 2 === 0}_${chatId}_${String(n).padStart(5, '0')}`,
    chatId,
    fromMe: n % 2 === 0,
    author: null,
    body: `message ${n}`,
    type: 'chat',
    timestamp: iso(T0 + n * MINUTE),
    ack: 1,
    hasMedia: false,
    ...over,
  };
}

export function messages(chatId: string, from: number, to: number, over: Partial<Message> = {}): Message[] {
  const out: Message[] = [];
  for (let n = from; n < to; n += 1) out.push(message(chatId, n, over));
  return out;
}

export function chat(id: string, lastMessageAt: number | null, over: Partial<ChatInput> = {}): ChatInput {
  return {
    id,
    name: `name of ${id}`,
    isGroup: id.endsWith('@g.us'),
    unreadCount: 0,
    lastMessageAt: lastMessageAt === null ? null : iso(lastMessageAt),
    ...over,
  };
}

/** Follows nextCursor to the end; fails instead of looping forever on a cursor that does not advance. */
export async function allChatPages(store: Store, sessionId: string, limit: number): Promise<Chat[][]> {
  const pages: Chat[][] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard += 1) {
    const page = await store.listChats(sessionId, { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    pages.push(page.items);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
  throw new Error('chat paging did not end');
}

export async function allMessagePages(
  store: Store,
  sessionId: string,
  chatId: string,
  limit: number,
  before?: string,
): Promise<Message[][]> {
  const pages: Message[][] = [];
  for (let guard = 0; guard < 1000; guard += 1) {
    const page = await store.listMessages(sessionId, chatId, { limit, before });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    pages.push(page.items);
    if (page.nextCursor === null) return pages;
    before = page.nextCursor;
  }
  throw new Error('message paging did not end');
}

/**
 * What a UTF-8 store keeps of a JS string: lone surrogates become U+FFFD. The engine's own
 * String#toWellFormed (ES2024, in Node 20), not a copy of the store's code, so it checks the store.
 */
export function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
