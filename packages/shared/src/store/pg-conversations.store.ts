import type { Contact, Page, Reaction } from '../domain.schemas';
import { assertLimit, decodeContactCursor, encodeContactCursor, toPage } from './cursor.codec';
import type { PgConnection } from './pg.connection';
import { decodeText, encodeText, toJsonb } from './pg.text';
import type { ChatPageQuery, ConversationStore, ReactionChange, ReactionsSeen } from './store.interface';
import { applyReaction, reactionChanges } from './store.input';

interface ContactRow {
  id: string;
  name: string | null;
  pushname: string | null;
  number: string | null;
  is_business: boolean;
  is_my_contact: boolean;
}

const toContact = (r: ContactRow): Contact => ({
  id: r.id,
  name: decodeText(r.name),
  pushname: decodeText(r.pushname),
  number: r.number,
  isBusiness: r.is_business,
  isMyContact: r.is_my_contact,
});

/** Contacts and live reactions on PostgreSQL (reactions live in messages.extra). */
export class PgConversations implements ConversationStore {
  constructor(private readonly c: PgConnection) {}

  async upsertContacts(sessionId: string, contacts: Contact[]): Promise<void> {
    if (contacts.length === 0) return;
    // One row per id (the last wins), in one lock order for every writer.
    const list = [...new Map(contacts.map((c) => [c.id, c])).values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    await this.c.query(
      `INSERT INTO contacts (session_id, id, name, pushname, number, is_business, is_my_contact)
       SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[])
         AS t(id, name, pushname, number, is_business, is_my_contact)
       ON CONFLICT (session_id, id) DO UPDATE SET name = excluded.name, pushname = excluded.pushname, number = excluded.number,
         is_business = excluded.is_business, is_my_contact = excluded.is_my_contact`,
      [sessionId, list.map((c) => c.id), list.map((c) => encodeText(c.name)), list.map((c) => encodeText(c.pushname)),
        list.map((c) => c.number), list.map((c) => c.isBusiness), list.map((c) => c.isMyContact)],
    );
  }

  async listContacts(sessionId: string, query: ChatPageQuery): Promise<Page<Contact>> {
    assertLimit(query.limit);
    const cols = 'SELECT id, name, pushname, number, is_business, is_my_contact FROM contacts WHERE session_id = $1';
    const { rows } = query.cursor === undefined
      ? await this.c.query<ContactRow>(`${cols} ORDER BY id LIMIT $2`, [sessionId, query.limit + 1])
      : await this.c.query<ContactRow>(`${cols} AND id > $3 ORDER BY id LIMIT $2`, [sessionId, query.limit + 1, decodeContactCursor(query.cursor)]);
    return toPage(rows, query.limit, toContact, (r) => encodeContactCursor(r.id));
  }

  /** The message row is locked while the sender's reaction is replaced, so two changes never lose each other. */
  async setReaction(sessionId: string, chatId: string, messageId: string, change: ReactionChange): Promise<Reaction[] | null> {
    return this.c.transaction(async (client) => {
      const { rows } = await client.query<{ reactions: Reaction[] | null }>(
        `SELECT extra->'reactions' AS reactions FROM messages WHERE session_id = $1 AND chat_id = $2 AND id = $3 FOR UPDATE`,
        [sessionId, chatId, messageId],
      );
      if (rows.length === 0) return null;
      const next = applyReaction(rows[0].reactions ?? [], change);
      if (next) {
        await client.query(
          `UPDATE messages SET extra = COALESCE(extra, '{}'::jsonb) || jsonb_build_object('reactions', $4::jsonb)
           WHERE session_id = $1 AND chat_id = $2 AND id = $3`,
          [sessionId, chatId, messageId, toJsonb(next)],
        );
      }
      return next;
    });
  }

  /** The seen messages' rows are locked (in id order, as every writer) while they are compared and replaced. */
  async replaceReactions(sessionId: string, chatId: string, seen: ReactionsSeen[]): Promise<ReactionsSeen[]> {
    if (seen.length === 0) return [];
    return this.c.transaction(async (client) => {
      const { rows } = await client.query<{ id: string; reactions: Reaction[] | null }>(
        `SELECT id, extra->'reactions' AS reactions FROM messages WHERE session_id = $1 AND chat_id = $2 AND id = ANY($3::text[])
         ORDER BY id FOR UPDATE`,
        [sessionId, chatId, seen.map((x) => x.id)],
      );
      const stored = new Map(rows.map((r) => [r.id, r.reactions ?? null]));
      const changes = reactionChanges(seen, (id) => stored.get(id));
      if (changes.length > 0) {
        await client.query(
          `UPDATE messages m SET extra = COALESCE(m.extra, '{}'::jsonb) || jsonb_build_object('reactions', t.reactions)
           FROM unnest($3::text[], $4::jsonb[]) AS t(id, reactions)
           WHERE m.session_id = $1 AND m.chat_id = $2 AND m.id = t.id`,
          [sessionId, chatId, changes.map((c) => c.id), changes.map((c) => toJsonb(c.reactions))],
        );
      }
      return changes;
    });
  }
}
