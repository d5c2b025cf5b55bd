import type { Filter } from 'mongodb';
import type { Contact, Page, Reaction } from '../domain.schemas';
import { assertLimit, decodeContactCursor, encodeContactCursor, toPage } from './cursor.codec';
import { bulkUpsert, type ContactDoc, type MongoCollections } from './mongo.schema';
import type { ChatPageQuery, ConversationStore, ReactionChange, ReactionsSeen } from './store.interface';
import { applyReaction, reactionChanges } from './store.input';

const toContact = (d: ContactDoc): Contact => ({
  id: d.id,
  name: d.name ?? null,
  pushname: d.pushname ?? null,
  number: d.number ?? null,
  isBusiness: Boolean(d.isBusiness),
  isMyContact: Boolean(d.isMyContact),
});

/** Contacts and live reactions on MongoDB. */
export class MongoConversations implements ConversationStore {
  constructor(private readonly c: MongoCollections) {}

  async upsertContacts(sessionId: string, contacts: Contact[]): Promise<void> {
    if (contacts.length === 0) return;
    await bulkUpsert(
      this.c.contacts,
      contacts.map((contact) => ({
        updateOne: { filter: { sessionId, id: contact.id }, update: { $set: { ...contact, sessionId } }, upsert: true },
      })),
    );
  }

  async listContacts(sessionId: string, query: ChatPageQuery): Promise<Page<Contact>> {
    assertLimit(query.limit);
    const filter: Filter<ContactDoc> = { sessionId };
    if (query.cursor !== undefined) filter.id = { $gt: decodeContactCursor(query.cursor) };
    const docs = await this.c.contacts.find(filter).sort({ id: 1 }).limit(query.limit + 1).toArray();
    return toPage(docs, query.limit, toContact, (d) => encodeContactCursor(d.id));
  }

  /**
   * One atomic pipeline update (other senders' reactions kept, this sender's replaced or removed);
   * the answer is worked out from the document as it was, with the same rule.
   */
  async setReaction(sessionId: string, chatId: string, messageId: string, change: ReactionChange): Promise<Reaction[] | null> {
    const mine = change.emoji ? [{ emoji: change.emoji, senderId: change.senderId, timestamp: change.timestamp }] : [];
    const before = await this.c.messages.findOneAndUpdate(
      { sessionId, chatId, id: messageId },
      [
        {
          $set: {
            reactions: {
              $concatArrays: [
                { $filter: { input: { $ifNull: ['$reactions', []] }, cond: { $ne: ['$$this.senderId', { $literal: change.senderId }] } } },
                { $literal: mine },
              ],
            },
          },
        },
      ],
      { returnDocument: 'before', projection: { reactions: 1 } },
    );
    if (!before) return null;
    return applyReaction(before.reactions ?? [], change);
  }

  /**
   * Each change is written only if the message still has the reactions it was compared with: a
   * live change that came in between wins (it is newer than the reading), and is not reported.
   */
  async replaceReactions(sessionId: string, chatId: string, seen: ReactionsSeen[]): Promise<ReactionsSeen[]> {
    if (seen.length === 0) return [];
    const docs = await this.c.messages
      .find({ sessionId, chatId, id: { $in: seen.map((x) => x.id) } }, { projection: { id: 1, reactions: 1 } })
      .toArray();
    const stored = new Map(docs.map((d) => [d.id, d.reactions ?? null]));
    const changes = reactionChanges(seen, (id) => stored.get(id));
    const written: ReactionsSeen[] = [];
    for (const c of changes) {
      // `reactions: null` also matches a message stored without the field.
      const res = await this.c.messages.updateOne({ sessionId, chatId, id: c.id, reactions: stored.get(c.id) ?? null }, { $set: { reactions: c.reactions } });
      if (res.modifiedCount === 1) written.push(c);
    }
    return written;
  }
}
