import { UnrecoverableError } from 'bullmq';
import type { SyncKind, SyncSnapshot } from './domain.schemas';
import { DEFAULT_EVENT_LOG_MAXLEN } from './event-log.stream';
import { ACTIVE_SYNC_TTL_S, FINISHED_SYNC_TTL_S, Keys } from './redis.keys';
import type { Redis } from './redis.client';
import { BEGIN_SYNC_LUA, CLEAR_ACTIVE_LUA, RECORD_CHAT_LUA } from './sync-progress.scripts';
import { snapshotFromHash, snapshotToHash } from './sync-snapshot.codec';

/**
 * The sync has no progress record: Redis lost it (restarted without its data, or failed over to a
 * stale replica; the runner's lost-sync check closes the run and syncs again). Its remaining jobs
 * cannot be counted anywhere, so they fail at once instead of retrying (unrecoverable).
 */
export class SyncGoneError extends UnrecoverableError {
  constructor(readonly syncId: string) {
    super(`sync ${syncId} has no progress record (Redis lost it)`);
  }
}

export interface ChatOutcome {
  sessionId: string;
  syncId: string;
  chatId: string;
  /** Messages stored for the chat in this sync (0 when failed). */
  messages: number;
  failed: boolean;
  /** Why it failed, announced as `sync_error`. */
  error?: string;
}

/** What {@link SyncProgress.recordChat} did, and the sync's count after it. */
export interface ChatRecorded {
  /** False when the chat had been counted before (a retried job). */
  counted: boolean;
  currentChat: number;
  nChats: number;
}

type ProgressRedis = Redis & {
  waBeginSync(progress: string, lastSync: string, active: string, log: string, ...argv: (string | number)[]): Promise<number>;
  waRecordChat(
    progress: string,
    finished: string,
    active: string,
    log: string,
    staging: string,
    staged: string,
    ...argv: (string | number)[]
  ): Promise<[number, number, number]>;
  waClearActive(active: string, syncId: string): Promise<number>;
};

/**
 * The progress of syncs, kept in Redis and announced on the events channel. Every write is
 * idempotent, so a retried or duplicated job never moves the counts twice.
 */
export class SyncProgress {
  private readonly redis: ProgressRedis;

  constructor(
    redis: Redis,
    /** EVENT_LOG_MAXLEN: the progress events go to the session's event log. */
    private readonly logMaxLen = DEFAULT_EVENT_LOG_MAXLEN,
  ) {
    if (!('waRecordChat' in redis)) {
      redis.defineCommand('waBeginSync', { numberOfKeys: 4, lua: BEGIN_SYNC_LUA });
      redis.defineCommand('waRecordChat', { numberOfKeys: 6, lua: RECORD_CHAT_LUA });
      redis.defineCommand('waClearActive', { numberOfKeys: 1, lua: CLEAR_ACTIVE_LUA });
    }
    this.redis = redis as ProgressRedis;
  }

  /** Persists and announces the first event (`currentChat: 0`); a no-op if the sync has begun. */
  async begin(sessionId: string, syncId: string, nChats: number, kind: SyncKind = 'full'): Promise<boolean> {
    const began = await this.redis.waBeginSync(
      Keys.syncProgress(syncId),
      Keys.lastSync(sessionId),
      Keys.activeSync(sessionId),
      Keys.eventLog(sessionId),
      sessionId,
      syncId,
      Keys.eventsChannel,
      new Date().toISOString(),
      this.logMaxLen,
      ...snapshotToHash({
        sessionId,
        syncId,
        kind,
        nChats,
        currentChat: 0,
        messagesSynced: 0,
        totalMessagesSynced: 0,
        chatsFailed: 0,
        done: nChats === 0,
      }),
    );
    return began === 1;
  }

  /**
   * Counts a finished chat once (`counted` is false when it already was) and returns the sync's
   * count after it. With `release`, the chat's staged batch (`stagingKey`) is deleted and the chat
   * leaves the sync's back-pressure window in the same atomic call, counted now or before.
   */
  async recordChat(outcome: ChatOutcome, release?: { stagingKey: string }): Promise<ChatRecorded> {
    const [status, currentChat, nChats] = await this.redis.waRecordChat(
      Keys.syncProgress(outcome.syncId),
      Keys.syncFinished(outcome.syncId),
      Keys.activeSync(outcome.sessionId),
      Keys.eventLog(outcome.sessionId),
      release?.stagingKey ?? Keys.staging(outcome.syncId, outcome.chatId),
      Keys.stagedChats(outcome.syncId),
      outcome.chatId,
      outcome.messages,
      outcome.failed ? 1 : 0,
      Keys.eventsChannel,
      outcome.error ?? '',
      ACTIVE_SYNC_TTL_S,
      this.logMaxLen,
      release ? 1 : 0,
    );
    if (status === -1) throw new SyncGoneError(outcome.syncId);
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

  /** After the store has the summary: progress expires, the session may sync again. */
  async close(sessionId: string, syncId: string): Promise<void> {
    await this.redis
      .multi()
      .expire(Keys.syncProgress(syncId), FINISHED_SYNC_TTL_S)
      .expire(Keys.syncFinished(syncId), FINISHED_SYNC_TTL_S)
      .exec();
    await this.redis.waClearActive(Keys.activeSync(sessionId), syncId);
  }

  /** Lets a new sync start after this one could not begin. */
  async release(sessionId: string, syncId: string): Promise<void> {
    await this.redis.waClearActive(Keys.activeSync(sessionId), syncId);
  }
}
