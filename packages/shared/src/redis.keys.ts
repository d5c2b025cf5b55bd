/**
 * Redis keys wa-sync owns (BullMQ's own keys live under its `bull:` prefix). The keys of a sync's
 * life (progress, finished, active, request, pending, last, gaps, session-ready, staging, staged,
 * fetch stats) are SyncLedger's alone (sync-ledger.store.ts): code elsewhere calls its methods, and
 * test/code-shape.test.ts fails on a use outside it. Tests may read them.
 */
const P = 'wa-sync';

export const Keys = {
  /** Pub/sub channel carrying each logged event (envelope JSON with its log id) to the API processes. */
  eventsChannel: `${P}:events`,
  /** Stream: the session's event log (capped at EVENT_LOG_MAXLEN), the resume point of WS and SSE. */
  eventLog: (sessionId: string) => `${P}:session:${sessionId}:log`,
  /** Hash: the progress of one sync (SyncSnapshot fields). */
  syncProgress: (syncId: string) => `${P}:sync:${syncId}`,
  /** Set: chat ids already counted in a sync, so a retried job never counts twice. */
  syncFinished: (syncId: string) => `${P}:sync:${syncId}:finished`,
  /** String: the session's running sync id; set NX so concurrent requests coalesce. */
  activeSync: (sessionId: string) => `${P}:session:${sessionId}:active-sync`,
  /** String (JSON): what a running sync covers (its SyncStartJob), so only covered requests join it. */
  syncRequest: (syncId: string) => `${P}:sync:${syncId}:request`,
  /** String (JSON): the session's queued sync request, started when the running sync ends. */
  pendingSync: (sessionId: string) => `${P}:session:${sessionId}:pending-sync`,
  /** String: the session's newest sync id (running or finished). */
  lastSync: (sessionId: string) => `${P}:session:${sessionId}:last-sync`,
  /** Hash: live state of a session that the store does not keep (current QR). */
  sessionLive: (sessionId: string) => `${P}:session:${sessionId}:live`,
  /** Prefix of the API's rate-limit counters (one string per route and client, with a TTL). */
  rateLimitPrefix: `${P}:rate-limit:`,
  /** Hash: the session's message fetches from the phone (`calls`, `messages`), counted by the runner. */
  fetchStats: (sessionId: string) => `${P}:session:${sessionId}:fetch-stats`,
  /** Hash: chat id → time from which a catch-up in flight (or one that failed) may lack messages. */
  catchUpGaps: (sessionId: string) => `${P}:session:${sessionId}:catch-up-gaps`,
  /** String: the log id of a sync's `session_ready`; set once, so a retried finalize never logs it twice. */
  sessionReady: (syncId: string) => `${P}:sync:${syncId}:session-ready`,
  /** Hash: session id → id of the last log entry the delivery dispatcher handed to delivery jobs. */
  deliveryCursors: `${P}:delivery:cursors`,
  /** String with a TTL: one sync-workers process at a time dispatches a session's log. */
  deliveryDispatchLock: (sessionId: string) => `${P}:delivery:dispatch:${sessionId}`,
  /** Hash: sync-workers process id → its RabbitMQ connection state (JSON, refreshed by a heartbeat). */
  deliveryBrokers: `${P}:delivery:brokers`,
  /** Hash: process id → what it sees of Redis, the store and the broker (JSON, refreshed by a heartbeat). */
  processHealth: `${P}:health:processes`,
  /** String: a chat's fetched messages between its fetch and save jobs. */
  staging: (syncId: string, chatId: string) => `${P}:staging:${syncId}:${chatId}`,
  /**
   * Sorted set: chat ids of a sync staged and not yet saved (score = staging time in ms). Fetches
   * wait while it is full (back-pressure); entries older than STAGED_STALE_MS no longer count, so a
   * save that died before its ZREM cannot hold the sync back for good.
   */
  stagedChats: (syncId: string) => `${P}:sync:${syncId}:staged`,
} as const;

/** A staged chat not saved within this long stops counting against the sync's back-pressure. */
export const STAGED_STALE_MS = 60_000;

/** How long finished progress stays in Redis; the store keeps the summary for good. */
export const FINISHED_SYNC_TTL_S = 24 * 3600;
/** Unsaved staged messages expire: Redis memory stays bounded by work in flight. */
export const STAGING_TTL_S = 6 * 3600;
/** A sync that stops making progress for this long no longer blocks a new one. */
export const ACTIVE_SYNC_TTL_S = 30 * 60;
