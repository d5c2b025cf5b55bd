import { UnrecoverableError } from 'bullmq';
import type { SyncReason } from './domain.schemas';

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

/** What {@link SyncLedger.recordChat} did, and the sync's count after it. */
export interface ChatRecorded {
  /** False when the chat had been counted before (a retried job). */
  counted: boolean;
  currentChat: number;
  nChats: number;
}

/** Phone calls a fetch made, counted per session so tests and operators can see what a sync cost. */
export type FetchStats = { calls: number; messages: number };

/** A chat's staged batch as the save reads it: null when it is gone (saved before, or expired). */
export type StagedBatch = { key: string; batch: string | null };
