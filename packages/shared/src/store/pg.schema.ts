import type { PgConnection } from './pg.connection';

/**
 * Times are epoch ms in bigint, like SQLite's (cursors and code map 1:1); ids sort by byte
 * (COLLATE "C"), as SQLite's BINARY and MongoDB do, whatever the database's collation.
 * No foreign keys: chats may arrive before their session row, as in the other stores.
 */
const SCHEMA_V1 = `
CREATE TABLE sessions (
  session_id     text COLLATE "C" PRIMARY KEY,
  status         text NOT NULL,
  status_detail  text,
  created_at     bigint NOT NULL,
  updated_at     bigint NOT NULL,
  first_ready_at bigint,
  -- JSON array of { url, events?, secret? }; NULL means none. Text: only ever read whole.
  webhooks       text
);

CREATE TABLE chats (
  session_id      text COLLATE "C" NOT NULL,
  id              text COLLATE "C" NOT NULL,
  name            text NOT NULL,
  is_group        boolean NOT NULL,
  unread_count    integer NOT NULL DEFAULT 0,
  last_message_at bigint,
  message_count   integer NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, id)
);
-- listChats: newest activity first, chats without activity last, then id.
CREATE INDEX chats_by_activity ON chats (session_id, last_message_at DESC NULLS LAST, id);

CREATE TABLE messages (
  session_id text COLLATE "C" NOT NULL,
  chat_id    text COLLATE "C" NOT NULL,
  id         text COLLATE "C" NOT NULL,
  from_me    boolean NOT NULL,
  author     text,
  body       text NOT NULL,
  type       text NOT NULL,
  ts         bigint NOT NULL,
  ack        integer NOT NULL,
  has_media  boolean NOT NULL,
  edited_at  bigint,
  revoked    boolean NOT NULL DEFAULT false,
  -- The media descriptor (MediaDescriptor) of a media message; NULL for other messages.
  media      jsonb,
  -- The Message fields beyond these columns (quoted, reactions, location…), as sent.
  extra      jsonb,
  PRIMARY KEY (session_id, chat_id, id)
);
-- Media counts and the sweep of pending media.
CREATE INDEX messages_media_status ON messages (session_id, (media->>'status')) WHERE media IS NOT NULL;
-- listMessages, recentHistory, catch-up states: newest first within a chat.
CREATE INDEX messages_by_time ON messages (session_id, chat_id, ts DESC, id DESC);

CREATE TABLE sync_runs (
  sync_id        text COLLATE "C" PRIMARY KEY,
  -- Order of starts that share a millisecond (SQLite's rowid).
  seq            bigint GENERATED ALWAYS AS IDENTITY,
  session_id     text COLLATE "C" NOT NULL,
  reason         text NOT NULL,
  kind           text NOT NULL DEFAULT 'full',
  started_at     bigint NOT NULL,
  finished_at    bigint,
  n_chats        integer NOT NULL,
  chats_failed   integer NOT NULL DEFAULT 0,
  total_messages integer NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_by_start ON sync_runs (session_id, started_at DESC, seq DESC);
CREATE INDEX sync_runs_by_finish ON sync_runs (session_id, finished_at DESC, seq DESC) WHERE finished_at IS NOT NULL;
CREATE INDEX sync_runs_open ON sync_runs (session_id, started_at, seq) WHERE finished_at IS NULL;

-- Session tokens: secrets generated once and shared by every process; revocation epochs.
CREATE TABLE store_secrets (name text COLLATE "C" PRIMARY KEY, value text NOT NULL, created_at bigint NOT NULL);
CREATE TABLE token_epochs (session_id text COLLATE "C" PRIMARY KEY, epoch integer NOT NULL);
`;

/**
 * Migrations in order: entry i brings the schema from version i to i + 1, recorded in
 * `wa_sync_migrations`. Add new ones at the end; never edit one that has shipped.
 */
const MIGRATIONS: string[] = [
  SCHEMA_V1,
  // v2, full conversations: group members with their chat; the contacts. (A message's other
  // fields, reactions included, are in messages.extra since v1.)
  `ALTER TABLE chats ADD COLUMN participants jsonb;
   CREATE TABLE contacts (
     session_id    text COLLATE "C" NOT NULL,
     id            text COLLATE "C" NOT NULL,
     name          text,
     pushname      text,
     number        text,
     is_business   boolean NOT NULL,
     is_my_contact boolean NOT NULL,
     PRIMARY KEY (session_id, id)
   );`,
  // v3, linked sessions across hosts (WA_AUTH_STORE=store): one credentials blob per session.
  `CREATE TABLE auth_states (session_id text COLLATE "C" PRIMARY KEY, data bytea NOT NULL, updated_at bigint NOT NULL);`,
];
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

// Any constant: processes starting together take turns at migrating.
const MIGRATION_LOCK = 0x7761_7379;

/** Creates or upgrades the schema; safe to run on every start and from several processes at once. */
export async function migratePg(conn: PgConnection): Promise<void> {
  await conn.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS wa_sync_migrations (
      version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM wa_sync_migrations');
    const version = rows[0].v ?? 0;
    if (version > PG_SCHEMA_VERSION) {
      throw new Error(`database schema v${version} is newer than this build (v${PG_SCHEMA_VERSION}); upgrade wa-sync`);
    }
    for (let v = version; v < PG_SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v]);
      await client.query('INSERT INTO wa_sync_migrations (version) VALUES ($1)', [v + 1]);
    }
  });
}
