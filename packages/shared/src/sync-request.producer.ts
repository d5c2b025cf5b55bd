import type { SyncReason } from './domain.schemas';
import { newSyncId } from './sync-id.factory';
import { JobProducer, parseJobData } from './job.producer';
import type { SyncStartJob } from './job.catalog';
import { ACTIVE_SYNC_TTL_S, Keys } from './redis.keys';
import type { Redis } from './redis.client';
import type { SessionQueues } from './session.queues';
import { REQUEST_SYNC_LUA, START_QUEUED_SYNC_LUA } from './sync-request.scripts';

export interface SyncRequest {
  sessionId: string;
  reason: SyncReason;
  limitPerChat: number;
  chatIds?: string[];
  /** When the client became ready (a catch-up reaches back past messages stored live since). */
  readyAt?: string;
}

export interface SyncRequestResult {
  syncId: string;
  /** The running sync already covers the request: its id is returned. */
  coalesced: boolean;
  /** A sync runs that does not cover the request: it will run (merged with other queued requests) right after. */
  queued?: boolean;
}

type RequestRedis = Redis & {
  waRequestSync(active: string, pending: string, ...argv: (string | number)[]): Promise<[string, string]>;
  waStartQueuedSync(active: string, pending: string, ...argv: (string | number)[]): Promise<string | null>;
};

const [REQUEST_PREFIX, REQUEST_SUFFIX] = Keys.syncRequest('\u0000').split('\u0000');

function scripted(redis: Redis): RequestRedis {
  if (!('waRequestSync' in redis)) {
    redis.defineCommand('waRequestSync', { numberOfKeys: 2, lua: REQUEST_SYNC_LUA });
    redis.defineCommand('waStartQueuedSync', { numberOfKeys: 2, lua: START_QUEUED_SYNC_LUA });
  }
  return redis as RequestRedis;
}

async function addSyncStart(redis: Redis, queues: SessionQueues, json: string): Promise<SyncStartJob> {
  const job = parseJobData('session', 'sync-start', JSON.parse(json));
  try {
    await new JobProducer('session', queues.get(job.sessionId)).add('sync-start', job, { jobId: job.syncId });
  } catch (err) {
    // Not started: keep the request queued so the next request or the next sync's end runs it.
    await redis.multi().del(Keys.activeSync(job.sessionId)).set(Keys.pendingSync(job.sessionId), json, 'EX', ACTIVE_SYNC_TTL_S, 'NX').exec();
    throw err;
  }
  return job;
}

/**
 * Starts a sync of the session unless one is running. A running sync that covers the request (all
 * chats, or every asked chat, with at least `limitPerChat`) absorbs it (`coalesced`); one that does
 * not — e.g. a `{ chatIds }` sync running when `ready` asks for the full one — never swallows it:
 * the request is queued and starts when the running sync ends (`queued`). Queued requests merge
 * into one (union of chats, largest limit). The session runner picks `sync-start` up from the
 * session queue.
 */
export async function requestSync(redis: Redis, queues: SessionQueues, request: SyncRequest): Promise<SyncRequestResult> {
  const payload = parseJobData('session', 'sync-start', { ...request, syncId: newSyncId() });
  const [outcome, value] = await scripted(redis).waRequestSync(
    Keys.activeSync(request.sessionId),
    Keys.pendingSync(request.sessionId),
    JSON.stringify(payload),
    REQUEST_PREFIX,
    REQUEST_SUFFIX,
    ACTIVE_SYNC_TTL_S,
  );
  if (outcome === 'coalesced') return { syncId: value, coalesced: true };
  if (outcome === 'queued') return { syncId: value, coalesced: false, queued: true };
  const job = await addSyncStart(redis, queues, value);
  return { syncId: job.syncId, coalesced: false };
}

/**
 * Called when a sync ends (finalized, or could not start): starts the session's queued request, if
 * any and if no other sync took its place meanwhile. Returns the started sync's id.
 */
export async function startQueuedSync(redis: Redis, queues: SessionQueues, sessionId: string): Promise<string | null> {
  const json = await scripted(redis).waStartQueuedSync(
    Keys.activeSync(sessionId),
    Keys.pendingSync(sessionId),
    REQUEST_PREFIX,
    REQUEST_SUFFIX,
    ACTIVE_SYNC_TTL_S,
  );
  if (!json) return null;
  return (await addSyncStart(redis, queues, json)).syncId;
}
