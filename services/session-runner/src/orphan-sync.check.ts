import type { SyncRun } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import type { Logger, SessionQueues, SyncLedger } from '@wa-sync/shared/runtime';
import type { SessionStatusReporter } from './session-status.reporter';

export interface OrphanSyncDeps {
  store: Store;
  queues: SessionQueues;
  ledger: SyncLedger;
  reporter: SessionStatusReporter;
  logger: Logger;
  limitPerChat: number;
}

/**
 * Closes the session's open syncs whose job graph is gone (Redis restarted without persistence,
 * or failed over to a stale replica: nothing would ever finish them): each store run is finished (every
 * chat counted failed, as nothing says which were saved), `sync_error` is announced, and one new sync is
 * requested when the client is ready (messages are upserted by id, so nothing is stored twice).
 * Every open run is looked at, not only the newest: a lost run can sit behind a sync the restarted
 * client already asked for. Returns the closed sync ids.
 */
export async function closeOrphanSync(deps: OrphanSyncDeps, sessionId: string, clientReady: boolean): Promise<string[]> {
  const lost = await deps.ledger.findOrphans(sessionId, await deps.store.openSyncRuns(sessionId));
  for (const run of lost) await closeLostRun(deps, run);
  const closed = lost.map((run) => run.syncId);
  // One request for all of them; a sync already under way that covers the session absorbs it.
  if (closed.length > 0 && clientReady) {
    const next = await deps.ledger.request(deps.queues, { sessionId, reason: 'reconnect', limitPerChat: deps.limitPerChat });
    deps.logger.info({ sessionId, lost: closed, syncId: next.syncId }, 'sync requested after a lost sync');
  }
  return closed;
}

async function closeLostRun(deps: OrphanSyncDeps, run: SyncRun): Promise<void> {
  const { sessionId, syncId } = run;
  deps.logger.warn({ sessionId, syncId }, 'open sync has no progress in Redis (Redis lost its data): closing it and syncing again');
  await deps.store.finishSyncRun(syncId, { nChats: run.nChats, chatsFailed: run.nChats, totalMessages: run.totalMessages });
  // Only if it still names the lost sync: a sync started since then keeps running.
  await deps.ledger.release(sessionId, syncId);
  await deps.reporter.announce(sessionId, 'sync_error', {
    sessionId,
    syncId,
    message: 'the sync lost its jobs (Redis restarted without its data); a new sync runs',
  });
}
