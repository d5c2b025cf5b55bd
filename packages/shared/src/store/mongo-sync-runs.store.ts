import type { SyncRun } from '../domain.schemas';
import { retryOnDuplicate, toSyncRun, type MongoCollections } from './mongo.schema';
import type { SyncRunStart, SyncRunStore } from './store.interface';

/** Sync runs on MongoDB. */
export class MongoSyncRuns implements SyncRunStore {
  constructor(private readonly c: MongoCollections) {}

  async startSyncRun(run: SyncRunStart): Promise<void> {
    // A retried job starting the same sync keeps the first record.
    const { syncId, ...rest } = run;
    const doc = { ...rest, kind: run.kind ?? 'full', startedAt: new Date(), finishedAt: null, chatsFailed: 0, totalMessages: 0 };
    await retryOnDuplicate(() => this.c.syncRuns.updateOne({ syncId }, { $setOnInsert: doc }, { upsert: true }));
  }

  async finishSyncRun(
    syncId: string,
    result: { nChats: number; chatsFailed: number; totalMessages: number },
  ): Promise<void> {
    // Pipeline update: a retried finalize keeps the first finish time and takes the latest figures.
    const res = await this.c.syncRuns.updateOne({ syncId }, [
      {
        $set: {
          finishedAt: { $ifNull: ['$finishedAt', new Date()] },
          nChats: { $literal: result.nChats },
          chatsFailed: { $literal: result.chatsFailed },
          totalMessages: { $literal: result.totalMessages },
        },
      },
    ]);
    if (res.matchedCount === 0) throw new Error(`sync run ${syncId} was never started`);
  }

  async getSyncRun(syncId: string): Promise<SyncRun | null> {
    const doc = await this.c.syncRuns.findOne({ syncId });
    return doc ? toSyncRun(doc) : null;
  }

  async getLastSyncRun(sessionId: string): Promise<SyncRun | null> {
    const doc = await this.c.syncRuns.findOne({ sessionId }, { sort: { startedAt: -1, _id: -1 } });
    return doc ? toSyncRun(doc) : null;
  }

  async openSyncRuns(sessionId: string): Promise<SyncRun[]> {
    const docs = await this.c.syncRuns.find({ sessionId, finishedAt: null }, { sort: { startedAt: 1, _id: 1 } }).toArray();
    return docs.map(toSyncRun);
  }
}
