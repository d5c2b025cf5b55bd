import type { Contact, Page, Reaction } from '../domain.schemas';
import { assertLimit, decodeContactCursor, encodeContactCursor, toPage } from './cursor.codec';
import type { SqliteConnection } from './sqlite.connection';
import type { Stmt } from './sqlite.statements';
import type { ChatPageQuery, ConversationStore, ReactionChange, ReactionsSeen } from './store.interface';
import { applyReaction, reactionChanges, wellFormed } from './store.input';

interface ContactRow {
  id: string;
  name: string | null;
  pushname: string | null;
  number: string | null;
  is_business: number;
  is_my_contact: number;
}

function prepare(c: SqliteConnection) {
  const p = <Row = unknown>(sql: string): Stmt<Row> => c.db.prepare<[Record<string, unknown>], Row>(sql);
  const COLUMNS = 'id, name, pushname, number, is_business, is_my_contact';
  return {
    upsertContact: p(`INSERT INTO contacts (session_id, ${COLUMNS})
      VALUES (@sessionId, @id, @name, @pushname, @number, @isBusiness, @isMyContact)
      ON CONFLICT (session_id, id) DO UPDATE SET name = excluded.name, pushname = excluded.pushname,
        number = excluded.number, is_business = excluded.is_business, is_my_contact = excluded.is_my_contact`),
    listContacts: p<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE session_id = @sessionId ORDER BY id LIMIT @limit`),
    listContactsAfter: p<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE session_id = @sessionId AND id > @after ORDER BY id LIMIT @limit`),
    getReactions: p<{ reactions: string | null }>(`SELECT reactions FROM messages WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id`),
    setReactions: p(`UPDATE messages SET reactions = @reactions WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id`),
  };
}

const toContact = (r: ContactRow): Contact => ({
  id: r.id,
  name: r.name,
  pushname: r.pushname,
  number: r.number,
  isBusiness: r.is_business === 1,
  isMyContact: r.is_my_contact === 1,
});

/** Contacts and live reactions on SQLite. */
export class SqliteConversations implements ConversationStore {
  private s: ReturnType<typeof prepare> | null = null;

  constructor(private readonly c: SqliteConnection) {}

  /** After the connection's init(). */
  prepare(): void {
    this.s = prepare(this.c);
  }

  async upsertContacts(sessionId: string, contacts: Contact[]): Promise<void> {
    if (contacts.length === 0) return;
    const s = this.ready;
    const rows = contacts.map((c) => ({
      sessionId,
      id: c.id,
      name: wellFormed(c.name),
      pushname: wellFormed(c.pushname),
      number: c.number,
      isBusiness: c.isBusiness ? 1 : 0,
      isMyContact: c.isMyContact ? 1 : 0,
    }));
    await this.c.write(() => this.c.db.transaction(() => rows.forEach((row) => s.upsertContact.run(row))).immediate());
  }

  async listContacts(sessionId: string, query: ChatPageQuery): Promise<Page<Contact>> {
    assertLimit(query.limit);
    const params = { sessionId, limit: query.limit + 1 };
    const rows = query.cursor === undefined
      ? this.ready.listContacts.all(params)
      : this.ready.listContactsAfter.all({ ...params, after: decodeContactCursor(query.cursor) });
    return toPage(rows, query.limit, toContact, (r) => encodeContactCursor(r.id));
  }

  async setReaction(sessionId: string, chatId: string, messageId: string, change: ReactionChange): Promise<Reaction[] | null> {
    const s = this.ready;
    const key = { sessionId, chatId, id: messageId };
    // Read and write in one IMMEDIATE transaction: two changes never lose each other.
    const apply = this.c.db.transaction((): Reaction[] | null => {
      const row = s.getReactions.get(key);
      if (!row) return null;
      const next = applyReaction(row.reactions ? (JSON.parse(row.reactions) as Reaction[]) : [], change);
      if (next) s.setReactions.run({ ...key, reactions: JSON.stringify(next) });
      return next;
    });
    return this.c.write(() => apply.immediate());
  }

  async replaceReactions(sessionId: string, chatId: string, seen: ReactionsSeen[]): Promise<ReactionsSeen[]> {
    if (seen.length === 0) return [];
    const s = this.ready;
    const apply = this.c.db.transaction((): ReactionsSeen[] => {
      const changes = reactionChanges(seen, (id) => {
        const row = s.getReactions.get({ sessionId, chatId, id });
        return row ? (row.reactions ? (JSON.parse(row.reactions) as Reaction[]) : null) : undefined;
      });
      for (const c of changes) s.setReactions.run({ sessionId, chatId, id: c.id, reactions: JSON.stringify(c.reactions) });
      return changes;
    });
    return this.c.write(() => apply.immediate());
  }

  private get ready(): ReturnType<typeof prepare> {
    if (!this.s) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.s;
  }
}
