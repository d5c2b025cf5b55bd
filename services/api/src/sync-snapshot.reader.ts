import type { SyncRun, SyncSnapshot } from '@wa-sync/shared/contracts';
import type { ApiDeps } from './api.deps';

/** The session's running or last sync: live progress from Redis, else the summary in the store. */
export async function currentSync(deps: ApiDeps, sessionId: string): Promise<SyncSnapshot | null> {
  const live = await deps.ledger.getForSession(sessionId);
  if (live) return live;
  const run = await deps.store.getLastSyncRun(sessionId);
  return run ? fromRun(run) : null;
}

function fromRun(run: SyncRun): SyncSnapshot {
  return {
    sessionId: run.sessionId,
    syncId: run.syncId,
    kind: run.kind ?? 'full',
    nChats: run.nChats,
    currentChat: run.done ? run.nChats : 0,
    messagesSynced: 0,
    totalMessagesSynced: run.totalMessages,
    chatsFailed: run.chatsFailed,
    done: run.done,
  };
}
