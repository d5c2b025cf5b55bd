import {
  BULL_PREFIX,
  type ChatInput,
  FinalizeSyncJob,
  type FetchMessagesJob,
  flowJob,
  QueueName,
  sessionQueueName,
  type SyncKind,
  type SyncStartJob,
} from '@wa-sync/shared/contracts';
import type { ChatSyncState, Store } from '@wa-sync/shared/store';
import { CatchUpGaps, type Logger, type Redis, type SyncProgress } from '@wa-sync/shared/runtime';
import type { WhatsAppClient } from './engine/engine.interface';
import type { GraphFlow } from './graph.writer';

export interface SyncStartDeps {
  store: Store;
  progress: SyncProgress;
  flow: GraphFlow;
  logger: Logger;
  /** Where catch-ups keep the chats they have not finished (Redis). */
  redis: Redis;
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
 * A sync of more chats than this adds its graph in steps: finalize, a gate and this many chats
 * first (their fetches start at once), then `GRAPH_STEP_CHATS` at a time, then the gate opens.
 * BullMQ builds every job of an add in memory, nothing runs until it is in Redis, and Redis runs
 * one add's MULTI whole: small steps let the first fetches start early and keep each MULTI short,
 * so the fetch workers' own calls to Redis are not queued behind it. Measured at 50 ms fetches,
 * 200 chats: 16 then 50 at a time was 2–5 % faster than 50 then 500.
 */
export const GRAPH_FIRST_CHATS = 16;
export const GRAPH_STEP_CHATS = 50;
/** A gate sync-start never opened (it failed for good) opens by itself after this. */
export const GRAPH_GATE_DELAY_MS = 10 * 60_000;

/** One chat to fetch, and how. */
type Planned = { chatId: string; limit: number; catchUp?: FetchMessagesJob['catchUp'] };

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
  let planned: Planned[];
  if (kind === 'catch-up') {
    const readyMs = data.readyAt ? Date.parse(data.readyAt) : Date.now();
    const cutoff = new Date((Number.isFinite(readyMs) ? readyMs : Date.now()) - CATCHUP_MARGIN_MS).toISOString();
    const states = new Map((await deps.store.chatSyncStates(sessionId, cutoff)).map((s) => [s.id, s]));
    const gaps = new CatchUpGaps(deps.redis);
    planned = planCatchUp(selected, states, data.limitPerChat, deps.catchUpMaxPerChat ?? DEFAULT_CATCHUP_MAX_PER_CHAT, await gaps.open(sessionId));
    // Before any fetch: a chat this sync does not finish is where the next one starts.
    await gaps.mark(sessionId, planned.flatMap((p) => (p.catchUp ? [{ chatId: p.chatId, after: p.catchUp.after }] : [])));
  } else {
    planned = selected.map((c) => ({ chatId: c.id, limit: data.limitPerChat }));
  }

  // A retry after part of a stepped graph went in keeps the first attempt's chats and order: job
  // ids are by place, and a catch-up planned again would skip the chats saved in between.
  const earlier = await deps.flow.getJob(QueueName.syncFinalize, `finalize-${syncId}`);
  if (earlier) {
    const byId = new Map(planned.map((p) => [p.chatId, p]));
    planned = FinalizeSyncJob.parse(earlier.data).chatIds.map((chatId) => byId.get(chatId) ?? { chatId, limit: data.limitPerChat });
  }

  await deps.store.upsertChats(sessionId, chats);
  await deps.store.startSyncRun({ syncId, sessionId, reason: data.reason, nChats: planned.length, kind });
  await deps.progress.begin(sessionId, syncId, planned.length, kind);

  const chatIds = planned.map((p) => p.chatId);
  await addGraph(sessionId, syncId, planned, deps.flow);
  log.info({ kind, nChats: chatIds.length, listed: chats.length, skipped: selected.length - chatIds.length, reason: data.reason }, 'sync started');
  return { nChats: chatIds.length };
}

/**
 * finalize ← per chat (save ← fetch). Job ids are fixed (by the chat's place in `planned`), so a
 * retried sync-start adds nothing twice. A big graph goes in steps behind a gate (see
 * GRAPH_FIRST_CHATS): finalize cannot run between two steps even if every chat added so far is done.
 */
async function addGraph(sessionId: string, syncId: string, planned: Planned[], flow: GraphFlow): Promise<void> {
  const finalizeId = `finalize-${syncId}`;
  const chat = ({ chatId, limit, catchUp }: Planned, i: number, parent?: { id: string; queue: string }) =>
    flowJob(QueueName.chatSave, 'save-chat', {
      queueName: QueueName.chatSave,
      data: { sessionId, syncId, chatId },
      // A failed chat must not stall the finalize job: it is counted in chatsFailed instead.
      opts: { jobId: `save-${syncId}-${i}`, ignoreDependencyOnFailure: true, ...(parent ? { parent } : {}) },
      children: [
        flowJob('session', 'fetch-messages', {
          queueName: sessionQueueName(sessionId),
          data: { sessionId, syncId, chatId, limit, ...(catchUp ? { catchUp } : {}) },
          opts: { jobId: `fetch-${syncId}-${i}`, ignoreDependencyOnFailure: true },
        }),
      ],
    });
  const stepped = planned.length > GRAPH_FIRST_CHATS;
  const gateId = `gate-${syncId}`;
  const gate = flowJob(QueueName.syncFinalize, 'graph-complete', {
    queueName: QueueName.syncFinalize,
    data: { sessionId, syncId },
    opts: { jobId: gateId, delay: GRAPH_GATE_DELAY_MS },
  });
  const first = stepped ? planned.slice(0, GRAPH_FIRST_CHATS) : planned;
  await flow.add(
    flowJob(QueueName.syncFinalize, 'finalize-sync', {
      queueName: QueueName.syncFinalize,
      data: { sessionId, syncId, chatIds: planned.map((p) => p.chatId) },
      opts: { jobId: finalizeId },
      children: [...(stepped ? [gate] : []), ...first.map((p, i) => chat(p, i))],
    }),
  );
  if (!stepped) return;
  const parent = { id: finalizeId, queue: `${BULL_PREFIX}:${QueueName.syncFinalize}` };
  for (let start = GRAPH_FIRST_CHATS; start < planned.length; start += GRAPH_STEP_CHATS) {
    await flow.addBulk(planned.slice(start, start + GRAPH_STEP_CHATS).map((p, j) => chat(p, start + j, parent)));
  }
  await flow.promote(QueueName.syncFinalize, gateId);
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
): Planned[] {
  const planned: Planned[] = [];
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
