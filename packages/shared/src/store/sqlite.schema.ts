import type Database from 'better-sqlite3';


/**
 * Times are integer epoch ms (sortable, compact); booleans are 0/1.
 * No foreign keys: chats may arrive before their session row, and Mongo has none either.
 */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS sessions (
  session_id    TEXT PRIMARY KEY,
  status        TEXT NOT NULL,
  status_detail TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS chats (
  session_id      TEXT NOT NULL,
  id              TEXT NOT NULL,
  name            TEXT NOT NULL,
  is_group        INTEGER NOT NULL,
  unread_count    INTEGER NOT NULL DEFAULT 0,
  last_message_at INTEGER,
  message_count   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, id)
);
-- listChats: newest activity first (NULLs sort last in DESC), then id.
CREATE INDEX IF NOT EXISTS chats_by_activity ON chats (session_id, last_message_at DESC, id);

-- A rowid table on purpose: bodies can be large, which WITHOUT ROWID handles badly.
CREATE TABLE IF NOT EXISTS messages (
  session_id TEXT NOT NULL,
  chat_id    TEXT NOT NULL,
  id         TEXT NOT NULL,
  from_me    INTEGER NOT NULL,
  author     TEXT,
  body       TEXT NOT NULL,
  type       TEXT NOT NULL,
  ts         INTEGER NOT NULL,
  ack        INTEGER NOT NULL,
  has_media  INTEGER NOT NULL,
  PRIMARY KEY (session_id, chat_id, id)
);
-- listMessages and recentHistory: newest first within a chat.
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (session_id, chat_id, ts DESC, id DESC);

CREATE TABLE IF NOT EXISTS sync_runs (
  sync_id        TEXT PRIMARY KEY,
  session_id     TEXT NOT NULL,
  reason         TEXT NOT NULL,
  started_at     INTEGER NOT NULL,
  finished_at    INTEGER,
  n_chats        INTEGER NOT NULL,
  chats_failed   INTEGER NOT NULL DEFAULT 0,
  total_messages INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sync_runs_by_start ON sync_runs (session_id, started_at DESC);
CREATE INDEX IF NOT EXISTS sync_runs_by_finish ON sync_runs (session_id, finished_at DESC) WHERE finished_at IS NOT NULL;
`;

/**
 * Migrations in order: entry i brings the schema from version i to i + 1 (`PRAGMA user_version`).
 * Add new ones at the end; never edit one that has shipped.
 */
const MIGRATIONS: string[] = [
  SCHEMA_V1,
  // v2, continuous sync: the simulated phone's clock anchor, live edits and deletes, the kind of a sync.
  `ALTER TABLE sessions ADD COLUMN first_ready_at INTEGER;
   ALTER TABLE messages ADD COLUMN edited_at INTEGER;
   ALTER TABLE messages ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE sync_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'full';`,
  // v3: per-session webhooks (JSON array of { url, events?, secret? }); NULL means none.
  `ALTER TABLE sessions ADD COLUMN webhooks TEXT;`,
  // v4, media: the descriptor of a media message (JSON MediaDescriptor), NULL for other messages;
  // indexed by status for the media counts and the sweep of pending ones.
  `ALTER TABLE messages ADD COLUMN media TEXT;
   CREATE INDEX IF NOT EXISTS messages_media_status ON messages (session_id, json_extract(media, '$.status')) WHERE media IS NOT NULL;`,
  // v5, session tokens: secrets generated once and shared by every process; revocation epochs.
  `CREATE TABLE IF NOT EXISTS store_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS token_epochs (session_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL);`,
  // v6, full conversations: a message's other fields (JSON: senderName, quoted, mentions, …) and
  // its reactions (JSON array), NULL until a fetch brings them; group members; the contacts.
  `ALTER TABLE messages ADD COLUMN extra TEXT;
   ALTER TABLE messages ADD COLUMN reactions TEXT;
   ALTER TABLE chats ADD COLUMN participants TEXT;
   CREATE TABLE IF NOT EXISTS contacts (
     session_id    TEXT NOT NULL,
     id            TEXT NOT NULL,
     name          TEXT,
     pushname      TEXT,
     number        TEXT,
     is_business   INTEGER NOT NULL,
     is_my_contact INTEGER NOT NULL,
     PRIMARY KEY (session_id, id)
   );`,
  // v7, linked sessions across hosts (WA_AUTH_STORE=store): one credentials blob per session.
  `CREATE TABLE IF NOT EXISTS auth_states (session_id TEXT PRIMARY KEY, data BLOB NOT NULL, updated_at INTEGER NOT NULL);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Connection settings. Several processes (API, session runner, sync workers) write the same file:
 * WAL lets readers run beside the one writer, and busy_timeout makes a writer wait for the lock
 * instead of failing with SQLITE_BUSY. NORMAL is durable across app crashes in WAL mode (only an
 * OS crash can lose the last commits, which a re-sync restores).
 */
export function applyPragmas(db: Database.Database, busyTimeoutMs: number): void {
  // First, so that switching to WAL also waits for other processes instead of failing.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  if (db.name !== ':memory:' && db.name !== '') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // SQLite checkpoints inside the COMMIT that crosses this many WAL pages, so the writer (the save
  // worker) pays for it. 1,000 (the default) checkpoints every few chats of a sync, each time
  // rewriting the same index pages; 10,000 (≈ 40 MB of WAL) lets one checkpoint absorb many
  // rewrites of a page (docs/benchmarks.md, Optimizations). journal_size_limit shrinks the file
  // back after a checkpoint, so the disk does not keep the peak.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

/** Creates or upgrades the schema; safe to run on every start and from several processes. */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema v${version} is newer than this build (v${SCHEMA_VERSION}); upgrade wa-sync`);
    }
    // v1 is idempotent (IF NOT EXISTS): it also runs on databases made before user_version was set.
    if (version === 0) db.exec(SCHEMA_V1);
    for (let v = Math.max(version, 1); v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  // IMMEDIATE: take the write lock up front so two processes starting together queue up.
  apply.immediate();
}
