import { MEDIA_STATUSES, type MediaDescriptor, type Message } from '../domain.schemas';
import { toMessage, type MongoCollections } from './mongo.schema';
import type { MediaCounts, MediaRef, MediaStore } from './store.interface';

/** Media descriptors on MongoDB: the `media` field of a message document, indexed by status. */
export class MongoMedia implements MediaStore {
  constructor(private readonly c: MongoCollections) {}

  async getMessage(sessionId: string, chatId: string, messageId: string): Promise<Message | null> {
    const doc = await this.c.messages.findOne({ sessionId, chatId, id: messageId });
    return doc ? toMessage(doc) : null;
  }

  async setMedia(sessionId: string, chatId: string, messageId: string, media: MediaDescriptor): Promise<boolean> {
    // `stored` is final; anything else may move (pending → failed → stored on a later retry).
    const res = await this.c.messages.updateOne(
      { sessionId, chatId, id: messageId, 'media.status': { $ne: 'stored' } },
      { $set: { media } },
    );
    return res.modifiedCount === 1;
  }

  async mediaCounts(sessionId: string): Promise<MediaCounts> {
    const counts = Object.fromEntries(MEDIA_STATUSES.map((s) => [s, 0])) as MediaCounts;
    counts.bytes = 0;
    const rows = await this.c.messages
      .aggregate<{ _id: string; n: number; bytes: number }>([
        { $match: { sessionId, 'media.status': { $exists: true } } },
        { $group: { _id: '$media.status', n: { $sum: 1 }, bytes: { $sum: { $ifNull: ['$media.size', 0] } } } },
      ])
      .toArray();
    for (const row of rows) {
      if (!(MEDIA_STATUSES as readonly string[]).includes(row._id)) continue;
      counts[row._id as keyof MediaCounts] = row.n;
      if (row._id === 'stored') counts.bytes = row.bytes;
    }
    return counts;
  }

  async pendingMedia(sessionId: string, limit: number): Promise<MediaRef[]> {
    const docs = await this.c.messages
      .find({ sessionId, 'media.status': 'pending' })
      .project<{ chatId: string; id: string }>({ _id: 0, chatId: 1, id: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => ({ chatId: d.chatId, messageId: d.id }));
  }
}
