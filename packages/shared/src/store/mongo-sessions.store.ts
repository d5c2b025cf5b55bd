import type { Session, SessionStatus } from '../domain.schemas';
import { toEpochMs } from './cursor.codec';
import { retryOnDuplicate, toSyncRun, type MongoCollections, type SessionDoc } from './mongo.schema';
import type { SessionStore } from './store.interface';
import { StoredSessionWebhooks, type SessionWebhook } from '../webhook.schemas';

/** Sessions on MongoDB: status, first-ready instant, webhooks. */
export class MongoSessions implements SessionStore {
  constructor(private readonly c: MongoCollections) {}

  async ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }> {
    const now = new Date();
    const res = await retryOnDuplicate(() =>
      this.c.sessions.updateOne(
        { sessionId },
        { $setOnInsert: { status: 'starting', statusDetail: null, createdAt: now, updatedAt: now } },
        { upsert: true },
      ),
    );
    return { session: (await this.getSession(sessionId))!, created: res.upsertedCount === 1 };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const doc = await this.c.sessions.findOne({ sessionId });
    return doc ? this.toSession(doc) : null;
  }

  async listSessions(): Promise<Session[]> {
    const docs = await this.c.sessions.find({}).sort({ createdAt: 1, sessionId: 1 }).toArray();
    return Promise.all(docs.map((doc) => this.toSession(doc)));
  }

  async setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void> {
    const now = new Date();
    await retryOnDuplicate(() =>
      this.c.sessions.updateOne(
        { sessionId },
        { $set: { status, statusDetail: detail ?? null, updatedAt: now }, $setOnInsert: { createdAt: now } },
        { upsert: true },
      ),
    );
  }

  async markFirstReady(sessionId: string, at: string): Promise<string> {
    const when = new Date(toEpochMs(at, 'first ready time'));
    const now = new Date();
    // Pipeline update: keeps an existing firstReadyAt, creates the session if it is unknown.
    await retryOnDuplicate(() =>
      this.c.sessions.updateOne(
        { sessionId },
        [
          {
            $set: {
              firstReadyAt: { $ifNull: ['$firstReadyAt', when] },
              status: { $ifNull: ['$status', 'starting'] },
              statusDetail: { $ifNull: ['$statusDetail', null] },
              createdAt: { $ifNull: ['$createdAt', now] },
              updatedAt: { $ifNull: ['$updatedAt', now] },
            },
          },
        ],
        { upsert: true },
      ),
    );
    const doc = await this.c.sessions.findOne({ sessionId }, { projection: { firstReadyAt: 1 } });
    return (doc?.firstReadyAt ?? when).toISOString();
  }

  async setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void> {
    await this.c.sessions.updateOne({ sessionId }, { $set: { webhooks } });
  }

  async getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]> {
    const doc = await this.c.sessions.findOne({ sessionId }, { projection: { webhooks: 1 } });
    const parsed = StoredSessionWebhooks.safeParse(doc?.webhooks ?? []);
    return parsed.success ? parsed.data : [];
  }

  private async toSession(doc: SessionDoc): Promise<Session> {
    const last = await this.c.syncRuns.findOne(
      { sessionId: doc.sessionId, finishedAt: { $ne: null } },
      { sort: { finishedAt: -1, _id: -1 } },
    );
    return {
      sessionId: doc.sessionId,
      status: doc.status,
      statusDetail: doc.statusDetail ?? null,
      createdAt: doc.createdAt.toISOString(),
      updatedAt: doc.updatedAt.toISOString(),
      lastSync: last ? toSyncRun(last) : null,
    };
  }
}
