import type { SyncKind, SyncRun, SyncSnapshot } from './domain.schemas';
import { DEFAULT_EVENT_LOG_MAXLEN } from './event-log.stream';
import { JobProducer, parseJobData } from './job.producer';
import type { SyncStartJob } from './job.catalog';
import { ACTIVE_SYNC_TTL_S, FINISHED_SYNC_TTL_S, Keys, STAGED_STALE_MS, STAGING_TTL_S } from './redis.keys';
import type { Redis } from './redis.client';
import { script } from './script.registry';
import { type SessionEvents, SessionEventSchemas } from './session-event.schemas';
import type { SessionQueues } from './session.queues';
import { newSyncId } from './sync-id.factory';
import {
  type ChatOutcome,
  type ChatRecorded,
  type FetchStats,
  type StagedBatch,
  SyncGoneError,
  type SyncRequest,
  type SyncRequestResult,
} from './sync-ledger.types';
import { snapshotFromHash, snapshotToHash } from './sync-snapshot.codec';

/** How often a fetch held back by {@link SyncLedger.waitForRoom} looks again. */
export const STAGING_POLL_MS = 15;

const [REQUEST_PREFIX, REQUEST_SUFFIX] = Keys.syncRequest('\u0000').split('\u0000');

/**
 * The one owner of a sync's Redis state, from request to end: the session's active and queued sync,
 * what a running sync covers, its progress and counted chats, the staged batches and the
 * back-pressure window they form, the phone-call counters, catch-up gaps and the `session_ready`
 * marker. Every service reads and writes them through its methods, named for what happens; every
 * write is idempotent, so a retried or duplicated job never moves the counts twice. Its Lua is in
 * sync-ledger.scripts.ts (registered in script.registry.ts).
 */
/**
 * When each connection last became ready (absent: not since a ledger first used it). A chat staged
 * before then by a fetch that Redis going away (or its process dying) cut off no longer counts in
 * the window. Its fetch job is run again later, but behind the fetches that wait for room: counting
 * it held every fetch slot until the entry went stale (STAGED_STALE_MS, 45 s of no work after a 15 s
 * Redis outage). The window may then hold up to twice its size, once. One listener per connection,
 * however many ledgers share it.
 */
const readySince = new WeakMap<Redis, { at: number }>();

function connectedAt(redis: Redis): number {
  let entry = readySince.get(redis);
  if (!entry) {
    const created = { at: 0 };
    readySince.set(redis, (entry = created));
    redis.on('ready', () => (created.at = Date.now()));
  }
  return entry.at;
}

export class SyncLedger {
  constructor(
    private readonly redis: Redis,
    /** EVENT_LOG_MAXLEN: the progress events go to the session's event log. */
    private readonly logMaxLen = DEFAULT_EVENT_LOG_MAXLEN,
  ) {
    connectedAt(redis);
  }

  /**
   * Starts a sync of the session unless one is running. A running sync that covers the request (all
   * chats, or every asked chat, with at least `limitPerChat`) absorbs it (`coalesced`); one that does
   * not — e.g. a `{ chatIds }` sync running when `ready` asks for the full one — never swallows it:
   * the request is queued and starts when the running sync ends (`queued`). Queued requests merge
   * into one (union of chats, largest limit). The session runner picks `sync-start` up from the
   * session queue.
   */
  async request(queues: SessionQueues, request: SyncRequest): Promise<SyncRequestResult> {
    const payload = parseJobData('session', 'sync-start', { ...request, syncId: newSyncId() });
    const { sessionId } = request;
    const [outcome, value] = await script(this.redis, 'requestSync')(
      Keys.activeSync(sessionId),
      Keys.pendingSync(sessionId),
      JSON.stringify(payload),
      REQUEST_PREFIX,
      REQUEST_SUFFIX,
      ACTIVE_SYNC_TTL_S,
    );
    if (outcome === 'coalesced') return { syncId: value, coalesced: true };
    if (outcome === 'queued') return { syncId: value, coalesced: false, queued: true };
    const job = await this.addSyncStart(queues, value);
    return { syncId: job.syncId, coalesced: false };
  }

  /** Persists and announces the first event (`currentChat: 0`); a no-op if the sync has begun. */
  async begin(sessionId: string, syncId: string, nChats: number, kind: SyncKind = 'full'): Promise<boolean> {
    const first: SyncSnapshot = { sessionId, syncId, kind, nChats, currentChat: 0, messagesSynced: 0, totalMessagesSynced: 0, chatsFailed: 0, done: nChats === 0 };
    const began = await script(this.redis, 'beginSync')(
      Keys.syncProgress(syncId),
      Keys.lastSync(sessionId),
      Keys.activeSync(sessionId),
      Keys.eventLog(sessionId),
      sessionId,
      syncId,
      Keys.eventsChannel,
      new Date().toISOString(),
      this.logMaxLen,
      ...snapshotToHash(first),
    );
    return began === 1;
  }

  /**
   * Back-pressure: waits while `maxStaged` or more chats of the sync are staged and not yet saved,
   * so Redis holds a bounded window of the account, not whatever the runner fetched ahead of the
   * saves. Concurrent fetches may all pass at the same count, so the bound is `maxStaged` plus the
   * fetch concurrency. Stale entries (a save that died before removing its chat) are dropped here,
   * so the wait always ends within STAGED_STALE_MS (or at once when `signal` aborts). A sync whose
   * progress record is gone (Redis lost its data) throws SyncGoneError at once: waiting would hold a
   * slot of the session's worker until the stale entries expire. With `chatId`, a chat still staged
   * has room at once: its fetch is running again (its completion was lost with a worker or in a
   * Redis failover) and its place is counted already. Returns the ms waited.
   */
  async waitForRoom(syncId: string, maxStaged: number, signal?: AbortSignal, chatId = ''): Promise<number> {
    const started = Date.now();
    for (;;) {
      const count = await script(this.redis, 'stagedCount')(Keys.stagedChats(syncId), Keys.syncProgress(syncId), Math.max(Date.now() - STAGED_STALE_MS, connectedAt(this.redis)), chatId);
      if (count === -1) throw new SyncGoneError(syncId);
      if (count < maxStaged || signal?.aborted) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, STAGING_POLL_MS));
    }
  }

  /**
   * Stages a chat's fetched batch for its save job and returns its key. The batch goes by a plain
   * SET; sent with it (run after it), the chat's place in the back-pressure window and the phone
   * calls: one round trip, and the script counts the chat only if the batch is there.
   */
  async stage(sessionId: string, syncId: string, chatId: string, batchJson: string, stats: FetchStats): Promise<string> {
    const key = Keys.staging(syncId, chatId);
    const [, counted] = await Promise.all([
      this.redis.set(key, batchJson, 'EX', STAGING_TTL_S),
      script(this.redis, 'stage')(key, Keys.stagedChats(syncId), Keys.fetchStats(sessionId), STAGING_TTL_S, Date.now(), chatId, stats.calls, stats.messages),
    ]);
    if (counted !== 1) throw new Error(`the staged batch of chat ${chatId} was gone before it was counted`);
    return key;
  }

  /** Counts phone calls of a fetch that staged nothing (it failed after reaching the phone). */
  async countFetches(sessionId: string, stats: FetchStats): Promise<void> {
    await script(this.redis, 'countFetches')(Keys.fetchStats(sessionId), stats.calls, stats.messages);
  }

  /** The chat's staged batch: at its usual key, or at `key` when its fetch named another. */
  async staged(syncId: string, chatId: string, key = Keys.staging(syncId, chatId)): Promise<StagedBatch> {
    return { key, batch: await this.redis.get(key) };
  }

  /** Frees the chat's place in the window (its batch was saved and counted by an earlier attempt). */
  async unstage(syncId: string, chatId: string): Promise<void> {
    await this.redis.zrem(Keys.stagedChats(syncId), chatId);
  }

  /**
   * Counts a finished chat once (`counted` is false when it already was) and returns the sync's
   * count after it. With `release`, the chat's staged batch (`stagingKey`) is deleted and the chat
   * leaves the sync's back-pressure window in the same atomic call, counted now or before.
   */
  async recordChat(outcome: ChatOutcome, release?: { stagingKey: string }): Promise<ChatRecorded> {
    const { sessionId, syncId, chatId } = outcome;
    const [status, currentChat, nChats] = await script(this.redis, 'recordChat')(
      Keys.syncProgress(syncId),
      Keys.syncFinished(syncId),
      Keys.activeSync(sessionId),
      Keys.eventLog(sessionId),
      release?.stagingKey ?? Keys.staging(syncId, chatId),
      Keys.stagedChats(syncId),
      chatId,
      outcome.messages,
      outcome.failed ? 1 : 0,
      Keys.eventsChannel,
      outcome.error ?? '',
      ACTIVE_SYNC_TTL_S,
      this.logMaxLen,
      release ? 1 : 0,
    );
    if (status === -1) throw new SyncGoneError(syncId);
    return { counted: status === 1, currentChat, nChats };
  }

  async isChatCounted(syncId: string, chatId: string): Promise<boolean> {
    return (await this.redis.sismember(Keys.syncFinished(syncId), chatId)) === 1;
  }

  /** The chats of `chatIds` not counted yet, in one round trip. */
  async uncounted(syncId: string, chatIds: string[]): Promise<string[]> {
    if (chatIds.length === 0) return [];
    const counted = await this.redis.smismember(Keys.syncFinished(syncId), ...chatIds);
    return chatIds.filter((_, i) => counted[i] === 0);
  }

  async get(syncId: string): Promise<SyncSnapshot | null> {
    return snapshotFromHash(await this.redis.hgetall(Keys.syncProgress(syncId)));
  }

  /** The session's running or newest sync, while Redis still holds it. */
  async getForSession(sessionId: string): Promise<SyncSnapshot | null> {
    const syncId = await this.redis.get(Keys.lastSync(sessionId));
    return syncId ? this.get(syncId) : null;
  }

  /** When the sync began (ms), from its progress record: right even for a process that joined mid-sync. */
  async startedAt(syncId: string): Promise<number> {
    const startedAt = await this.redis.hget(Keys.syncProgress(syncId), 'startedAt');
    return startedAt ? Date.parse(startedAt) : Number.NaN;
  }

  /**
   * Logs and announces the sync's one `session_ready` and returns its log id; a retried finalize
   * gets the first id back (kept beside the sync) instead of logging a second event.
   */
  async readyOnce(data: SessionEvents['session_ready']): Promise<string> {
    const parsed = SessionEventSchemas.session_ready.parse(data);
    return script(this.redis, 'sessionReadyOnce')(
      Keys.sessionReady(parsed.syncId),
      Keys.eventLog(parsed.sessionId),
      FINISHED_SYNC_TTL_S,
      this.logMaxLen,
      Keys.eventsChannel,
      parsed.sessionId,
      JSON.stringify(parsed),
    );
  }

  /** Whether the sync's `session_ready` is logged (its marker, kept as long as the progress record). */
  async readyLogged(syncId: string): Promise<boolean> {
    return (await this.redis.exists(Keys.sessionReady(syncId))) === 1;
  }

  /** After the store has the summary: the progress record expires (the store keeps it for good). */
  async finish(syncId: string): Promise<void> {
    await this.redis.multi().expire(Keys.syncProgress(syncId), FINISHED_SYNC_TTL_S).expire(Keys.syncFinished(syncId), FINISHED_SYNC_TTL_S).exec();
  }

  /** The session may sync again: the active sync is cleared, only if it still names this one. */
  async release(sessionId: string, syncId: string): Promise<void> {
    await script(this.redis, 'compareAndDelete')(Keys.activeSync(sessionId), syncId);
  }

  /**
   * The sync is over (finalized, or could not start): releases it and starts the session's queued
   * request, if any and if no other sync took its place meanwhile. Returns the started sync's id.
   */
  async end(queues: SessionQueues, sessionId: string, syncId: string): Promise<string | null> {
    await this.release(sessionId, syncId);
    const json = await script(this.redis, 'startQueuedSync')(Keys.activeSync(sessionId), Keys.pendingSync(sessionId), REQUEST_PREFIX, REQUEST_SUFFIX, ACTIVE_SYNC_TTL_S);
    if (!json) return null;
    return (await this.addSyncStart(queues, json)).syncId;
  }

  /**
   * Runs of `open` (the store's open syncs of the session) whose progress Redis no longer holds:
   * their job graph is gone too. The session's active sync is set before its run is stored and
   * cleared after it finishes: while it names a run, that run is only starting, not lost.
   */
  async findOrphans<R extends Pick<SyncRun, 'syncId'>>(sessionId: string, open: R[]): Promise<R[]> {
    if (open.length === 0) return [];
    const active = await this.redis.get(Keys.activeSync(sessionId));
    const lost: R[] = [];
    for (const run of open) {
      if (run.syncId === active || (await this.redis.exists(Keys.syncProgress(run.syncId)))) continue;
      lost.push(run);
    }
    return lost;
  }

  /**
   * Catch-ups in flight, per chat: "messages after `after` may be missing" (chat id → ISO time). A
   * catch-up opens a gap for each chat it pages back and the chat's save closes it. A gap left open
   * (the fetch failed for good, the runner died) is where the next catch-up starts, even if live
   * messages were stored after it meanwhile and moved the chat's newest stored message past it.
   */
  async gaps(sessionId: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(Keys.catchUpGaps(sessionId))));
  }

  async markGaps(sessionId: string, gaps: Array<{ chatId: string; after: string }>): Promise<void> {
    if (gaps.length === 0) return;
    await this.redis.hset(Keys.catchUpGaps(sessionId), Object.fromEntries(gaps.map((g) => [g.chatId, g.after])));
  }

  /** The chat's messages from `after` on are stored; a newer gap (a later catch-up) stays. */
  async closeGap(sessionId: string, chatId: string, after: string): Promise<void> {
    await script(this.redis, 'closeGap')(Keys.catchUpGaps(sessionId), chatId, after);
  }

  private async addSyncStart(queues: SessionQueues, json: string): Promise<SyncStartJob> {
    const job = parseJobData('session', 'sync-start', JSON.parse(json));
    try {
      await new JobProducer('session', queues.get(job.sessionId)).add('sync-start', job, { jobId: job.syncId });
    } catch (err) {
      // Not started: keep the request queued so the next request or the next sync's end runs it.
      await this.redis.multi().del(Keys.activeSync(job.sessionId)).set(Keys.pendingSync(job.sessionId), json, 'EX', ACTIVE_SYNC_TTL_S, 'NX').exec();
      throw err;
    }
    return job;
  }
}
