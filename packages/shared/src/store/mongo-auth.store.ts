import { Binary, type Collection, type Db } from 'mongodb';
import type { AuthStateStore } from './store.interface';

interface AuthDoc {
  _id: string;
  data: Binary;
  updatedAt: Date;
}

/** Linked-session credentials on MongoDB (collection `auth_states`, keyed by `_id`): one document per session, one upsert per save. */
export class MongoAuthStates implements AuthStateStore {
  private readonly docs: Collection<AuthDoc>;

  constructor(db: Db) {
    this.docs = db.collection<AuthDoc>('auth_states');
  }

  async getAuthState(sessionId: string): Promise<Buffer | null> {
    const doc = await this.docs.findOne({ _id: sessionId });
    // read(): exactly the stored bytes (a Binary's buffer may be larger than its length).
    return doc ? Buffer.from(doc.data.read(0, doc.data.length())) : null;
  }

  async putAuthState(sessionId: string, data: Buffer): Promise<void> {
    await this.docs.replaceOne({ _id: sessionId }, { data: new Binary(data), updatedAt: new Date() }, { upsert: true });
  }

  async deleteAuthState(sessionId: string): Promise<void> {
    await this.docs.deleteOne({ _id: sessionId });
  }
}
