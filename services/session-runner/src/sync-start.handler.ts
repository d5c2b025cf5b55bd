import {
  addSyncGraph,
  type ChatInput,
  FinalizeSyncJob,
  type PlannedChat,
  QueueName,
  type SyncKind,
  SyncJobId,
  type SyncStartJob,
} from '@wa-sync/shared/contracts';
import { type ChatSyncState, type Store, StoreBusyError } from '@wa-sync/shared/store';
import type { Logger, SyncLedger } from '@wa-sync/shared/runtime';
import type { WhatsAppClient } from './engine/engine.interface';
import type { GraphFlow } from './graph.writer';

export interface SyncStartDeps {
  store: Store;
  /** The sync's Redis state: its progress, and the chats catch-ups have not finished. */
  ledger: SyncLedger;
  flow: GraphFlow;
  logger: Logger;
  /** SYNC_CATCHUP_MAX_PER_CHAT; default 5000. */
  catchUpMaxPerChat?: number;
}

export const DEFAULT_CATCHUP_MAX_PER_CHAT = 5000;
/** A catch-up's first page per changed chat; most chats only got a few messages. */
export const CATCHUP_FIRST_PAGE = 50;
/**
 * A catch-up compares the phone with what the store held this long before the client became
 * ready: WhatsApp times have whole seconds and the phone's clock is not ours, and a message stored
 * live just after ready must not pass for the newest one the store had.
 */
export const CATCHUP_MARGIN_MS = 5000;

/**
 * Lists the account's chats, saves them, announces the first `sync_chats` and adds the job graph:
 * finalize ← per chat (save ← fetch). Every step is idempotent (fixed job ids, progress begins
 * once), so a retried sync-start never doubles the work.
 *
 * A `ready` after the session's first completed sync is a catch-up: only chats whose activity
 * moved past the store's get a fetch, paging back to the newest stored message.
 */
export async function runSyncStart(client: WhatsAppClient, data: SyncStartJob, deps: SyncStartDeps): Promise<{ nChats: number }> {
  const { sessionId, syncId } = data;
  const log = deps.logger.child({ sessionId, syncId });
  const chats = await client.getChats();
  const wanted = data.chatIds ? new Set(data.chatIds) : null;
  const selected = wanted ? chats.filter((c) => wanted.has(c.id)) : chats;
  if (wanted && selected.length < wanted.size) {
    log.warn({ requested: wanted.size, found: selected.length }, 'some requested chats do not exist');
  }

  const kind = await syncKind(data, deps.store);
  let planned: PlannedChat[];
  if (kind === 'catch-up') {
    const readyMs = data.readyAt ? Date.parse(data.readyAt) : Date.now();
    const cutoff = new Date((Number.isFinite(readyMs) ? readyMs : Date.now()) - CATCHUP_MARGIN_MS).toISOString();
    const states = new Map((await deps.store.chatSyncStates(sessionId, cutoff)).map((s) => [s.id, s]));
    planned = planCatchUp(selected, states, data.limitPerChat, deps.catchUpMaxPerChat ?? DEFAULT_CATCHUP_MAX_PER_CHAT, await deps.ledger.gaps(sessionId));
    // Before any fetch: a chat this sync does not finish is where the next one starts.
    await deps.ledger.markGaps(sessionId, planned.flatMap((p) => (p.catchUp ? [{ chatId: p.chatId, after: p.catchUp.after }] : [])));
  } else {
    // A manual re-sync also brings reactions up to date: a re-fetch alone keeps stored ones.
    const reread = data.reason === 'manual' ? ({ readReactions: true } as const) : {};
    planned = selected.map((c) => ({ chatId: c.id, limit: data.limitPerChat, ...reread }));
  }

  // A retry after part of a stepped graph went in keeps the first attempt's chats and order: job
  // ids are by place, and a catch-up planned again would skip the chats saved in between.
  const earlier = await deps.flow.getJob(QueueName.syncFinalize, SyncJobId.finalize(syncId));
  if (earlier) {
    const byId = new Map(planned.map((p) => [p.chatId, p]));
    planned = FinalizeSyncJob.parse(earlier.data).chatIds.map((chatId) => byId.get(chatId) ?? { chatId, limit: data.limitPerChat });
  }

  await deps.store.upsertChats(sessionId, chats);
  await saveContacts(client, sessionId, deps, log);
  await deps.store.startSyncRun({ syncId, sessionId, reason: data.reason, nChats: planned.length, kind });
  await deps.ledger.begin(sessionId, syncId, planned.length, kind);

  const chatIds = planned.map((p) => p.chatId);
  await addSyncGraph(deps.flow, sessionId, syncId, planned);
  log.info({ kind, nChats: chatIds.length, listed: chats.length, skipped: selected.length - chatIds.length, reason: data.reason }, 'sync started');
  return { nChats: chatIds.length };
}

/**
 * The account's contacts, before the fetches (whatsapp-web.js names senders from them). A failure
 * is logged, not fatal: names then fall back to pushnames, and the next sync tries again.
 */
async function saveContacts(client: WhatsAppClient, sessionId: string, deps: SyncStartDeps, log: Logger): Promise<void> {
  try {
    const contacts = await client.getContacts();
    await deps.store.upsertContacts(sessionId, contacts);
    log.debug({ contacts: contacts.length }, 'contacts saved');
  } catch (err) {
    if (err instanceof StoreBusyError) throw err;
    log.warn({ err: (err as Error).message }, 'contacts not saved');
  }
}

/**
 * From the store, not from memory, so it holds across restarts and runners: a manual sync is
 * full; any other is a catch-up once the session has completed a sync.
 */
export async function syncKind(data: SyncStartJob, store: Store): Promise<SyncKind> {
  if (data.reason === 'manual') return 'full';
  return (await store.getSession(data.sessionId))?.lastSync ? 'catch-up' : 'full';
}

/**
 * Chats of a catch-up, from the store's state before the client became ready (`states`): a chat
 * the store has no message of gets a first fetch (`limitPerChat`); one whose lastMessageAt moved
 * past the newest stored message is paged back to it; the rest cost nothing.
 *
 * The newest stored message, not the chat's stored lastMessageAt, is the mark: the chat list and
 * live messages move lastMessageAt forward before the messages in between are stored, so a
 * catch-up that died half-way or a live message just after ready would hide a gap.
 */
export function planCatchUp(
  chats: ChatInput[],
  states: Map<string, ChatSyncState>,
  limitPerChat: number,
  max: number,
  /** Gaps earlier catch-ups left open (chat id → from when): fetched back to there, never skipped. */
  gaps: Map<string, string> = new Map(),
): PlannedChat[] {
  const planned: PlannedChat[] = [];
  for (const chat of chats) {
    if (chat.lastMessageAt === null) continue; // nothing on the phone to fetch
    const state = states.get(chat.id);
    const newest = state?.newestMessageAt;
    if (!state || state.messageCount === 0 || !newest) {
      planned.push({ chatId: chat.id, limit: limitPerChat });
      continue;
    }
    const gap = gaps.get(chat.id);
    const after = gap && Date.parse(gap) < Date.parse(newest) ? gap : newest;
    if (!gap && Date.parse(chat.lastMessageAt) <= Date.parse(after)) continue;
    planned.push({ chatId: chat.id, limit: Math.min(CATCHUP_FIRST_PAGE, max), catchUp: { after, max } });
  }
  return planned;
}
