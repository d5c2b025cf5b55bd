import type { Collection, Db } from 'mongodb';
import type { AccessStore } from './store.interface';

interface SecretDoc {
  _id: string;
  value: string;
  createdAt: Date;
}
interface EpochDoc {
  _id: string;
  epoch: number;
}

/** Token secrets and revocation epochs on MongoDB (collections `secrets`, `token_epochs`, keyed by `_id`). */
export class MongoAccess implements AccessStore {
  private readonly secrets: Collection<SecretDoc>;
  private readonly epochs: Collection<EpochDoc>;

  constructor(db: Db) {
    this.secrets = db.collection<SecretDoc>('secrets');
    this.epochs = db.collection<EpochDoc>('token_epochs');
  }

  async ensureSecret(name: string, candidate: string): Promise<string> {
    // $setOnInsert on the _id: the first writer wins; two upserts racing on the same _id may see
    // a duplicate-key error, after which the document exists and is read.
    try {
      await this.secrets.updateOne({ _id: name }, { $setOnInsert: { value: candidate, createdAt: new Date() } }, { upsert: true });
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    return (await this.secrets.findOne({ _id: name }))!.value;
  }

  async getTokenEpoch(sessionId: string): Promise<number> {
    return (await this.epochs.findOne({ _id: sessionId }))?.epoch ?? 0;
  }

  async bumpTokenEpoch(sessionId: string): Promise<number> {
    for (;;) {
      try {
        const doc = await this.epochs.findOneAndUpdate({ _id: sessionId }, { $inc: { epoch: 1 } }, { upsert: true, returnDocument: 'after' });
        return doc!.epoch;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err; // a racing first bump: the document exists now
      }
    }
  }
}
