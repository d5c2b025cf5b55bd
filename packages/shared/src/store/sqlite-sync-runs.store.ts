import type { SyncRun } from '../domain.schemas';
import type { SqliteConnection } from './sqlite.connection';
import { toSyncRun } from './sqlite.rows';
import type { SyncRunStart, SyncRunStore } from './store.interface';

/** Sync runs on SQLite. */
export class SqliteSyncRuns implements SyncRunStore {
  constructor(private readonly c: SqliteConnection) {}

  async startSyncRun(run: SyncRunStart): Promise<void> {
    await this.c.write(() => this.c.s.startSyncRun.run({ ...run, kind: run.kind ?? 'full', now: Date.now() }));
  }

  async finishSyncRun(
    syncId: string,
    result: { nChats: number; chatsFailed: number; totalMessages: number },
  ): Promise<void> {
    const { changes } = await this.c.write(() => this.c.s.finishSyncRun.run({ syncId, ...result, now: Date.now() }));
    if (changes === 0) throw new Error(`sync run ${syncId} was never started`);
  }

  async getSyncRun(syncId: string): Promise<SyncRun | null> {
    const row = this.c.s.getSyncRun.get({ syncId });
    return row ? toSyncRun(row) : null;
  }

  async getLastSyncRun(sessionId: string): Promise<SyncRun | null> {
    const row = this.c.s.lastSyncRun.get({ sessionId });
    return row ? toSyncRun(row) : null;
  }

  async openSyncRuns(sessionId: string): Promise<SyncRun[]> {
    return this.c.s.openSyncRuns.all({ sessionId }).map(toSyncRun);
  }
}
