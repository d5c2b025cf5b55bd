import { Client } from 'pg';
import type { Message } from '../domain.schemas';
import { splitPgUrl } from './pg.connection';
import { PG_SCHEMA_VERSION } from './pg.schema';
import { PgStore } from './pg.store';
import { encodeText, decodeText } from './pg.text';
import { describeStoreContract } from './store.contract';
import { isStoreUnavailable } from './store.availability';
import { createStore, describeStoreUrl } from './store.factory';
import { message, messages, uniqueSessionId } from './store-fixtures.contract';
import { createTestDatabase, describeWithPostgres, terminateConnections, type TestDatabase } from '../../../../test/support/postgres-db';
import { freePort } from '../../../../test/support/redis-server';

describe('PgStore without a server', () => {
  it('takes pool_max out of the URL and keeps the rest', () => {
    expect(splitPgUrl('postgres://u:p@h:5432/db')).toEqual({ connectionString: 'postgres://u:p@h:5432/db' });
    expect(splitPgUrl('postgres://h/db?pool_max=4')).toEqual({ connectionString: 'postgres://h/db', poolMax: 4 });
    expect(splitPgUrl('postgresql://h/db?sslmode=require&pool_max=20&application_name=x')).toEqual({
      connectionString: 'postgresql://h/db?sslmode=require&application_name=x',
      poolMax: 20,
    });
    expect(splitPgUrl('postgres://h/db?pool_max=2&sslmode=disable')).toEqual({ connectionString: 'postgres://h/db?sslmode=disable', poolMax: 2 });
    expect(() => splitPgUrl('postgres://h/db?pool_max=0')).toThrow(/pool_max/);
  });

  it('masks the password when the URL is logged', () => {
    expect(describeStoreUrl('postgres://wa:s3cr%40t@db.internal:5432/wa_sync?pool_max=4')).toBe('postgres://wa:***@db.internal:5432/wa_sync?pool_max=4');
    expect(describeStoreUrl('postgresql://wa@db/wa_sync')).toBe('postgresql://wa@db/wa_sync');
  });

  it('escapes U+0000 (which PostgreSQL text refuses) reversibly, and leaves other text as it is', () => {
    for (const s of ['plain', 'a\u0000b', '\uFFFF', '\uFFFF0', '\u0000\uFFFF\u0000', 'x\uFFFF\uFFFFy', '']) {
      expect(encodeText(s)).not.toContain('\u0000');
      expect(decodeText(encodeText(s))).toBe(s);
    }
    expect(encodeText('plain')).toBe('plain');
  });

  it('fails to open with the driver\'s connection error when nothing listens', async () => {
    const port = await freePort();
    await expect(createStore(`postgres://postgres@127.0.0.1:${port}/x`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describeWithPostgres('PgStore on the PostgreSQL server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('store');
  });
  afterAll(async () => {
    await db?.drop();
  });
  const open = async (url = db.url) => {
    const store = new PgStore(url);
    await store.init();
    return store;
  };

  describeStoreContract('postgres', () => open());
  describeStoreContract('postgres (via createStore, pool_max=2)', () => createStore(`${db.url}?pool_max=2`));

  describe('PgStore specifics', () => {
    const C = '5511900000007@c.us';

    it('records its schema version; a database newer than the build is refused', async () => {
      const other = await createTestDatabase('migrate');
      try {
        const store = await open(other.url);
        await store.init(); // again: a no-op
        await store.close();
        const client = new Client({ connectionString: other.url });
        await client.connect();
        try {
          const { rows } = await client.query('SELECT version FROM wa_sync_migrations ORDER BY version');
          expect(rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
          await client.query('INSERT INTO wa_sync_migrations (version) VALUES ($1)', [PG_SCHEMA_VERSION + 1]);
        } finally {
          await client.end();
        }
        await expect(open(other.url)).rejects.toThrow(/newer than this build/);
      } finally {
        await other.drop();
      }
    });

    it('round-trips the message fields beyond the columns (quoted, reactions, location, media…)', async () => {
      const store = await open();
      try {
        const s = uniqueSessionId('extra');
        const full: Message = {
          ...message(C, 1, { body: 'see \u0000 this \uFFFF', hasMedia: true }),
          senderName: 'Zoë',
          quoted: { id: 'true_x_1', fromMe: true, author: null, type: 'chat', body: 'quoted \u0000 text \uFFFF' },
          mentions: ['5511900000001@c.us'],
          isForwarded: true,
          reactions: [{ emoji: '👍', senderId: '5511900000002@c.us', timestamp: '2024-03-01T12:05:00.000Z' }],
          location: { latitude: -23.5, longitude: -46.6, description: null },
          vcards: ['BEGIN:VCARD\nEND:VCARD'],
          poll: { name: 'lunch?', options: ['yes', 'no'] },
          media: { mimetype: 'image/jpeg', filename: null, size: 1234, sha256: null, durationSeconds: null, status: 'pending', error: null },
        };
        const plain = message(C, 2);
        await store.upsertMessages(s, C, [full, plain]);
        const stored = (await store.listMessages(s, C, { limit: 10 })).items;
        expect(stored).toEqual([plain, full]);
        // A message twice in one batch: the later copy fills what the first lacks.
        const twice = message(C, 4, { hasMedia: true, type: 'image' });
        await store.upsertMessages(s, C, [twice, { ...twice, ack: 3, media: full.media, senderName: 'Ana' }]);
        expect(await store.getMessage(s, C, twice.id)).toEqual({ ...twice, ack: 3, media: full.media, senderName: 'Ana' });
        // jsonb refuses lone surrogates: kept as U+FFFD, as in text columns.
        const odd = message(C, 3, { senderName: 'lone \uD83D here' });
        await store.upsertMessages(s, C, [odd]);
        expect((await store.getMessage(s, C, odd.id))?.senderName).toBe('lone \uFFFD here');
        expect(Object.keys(stored[0]).sort()).toEqual(Object.keys(plain).sort());
      } finally {
        await store.close();
      }
    });

    it('stores a batch larger than one statement\'s chunk exactly, in one transaction', async () => {
      const store = await open();
      try {
        const s = uniqueSessionId('chunk');
        const batch = messages(C, 0, 12_001);
        expect(await store.upsertMessages(s, C, batch)).toEqual({ inserted: 12_001, existing: 0 });
        expect(await store.upsertMessages(s, C, batch.slice(5_000))).toEqual({ inserted: 0, existing: 7_001 });
        expect(await store.getChat(s, C)).toMatchObject({ messageCount: 12_001 });
      } finally {
        await store.close();
      }
    });

    it('two pools (like two worker processes) racing on the same new messages store each once', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      try {
        const s = uniqueSessionId('pgrace');
        const batches = Array.from({ length: 8 }, (_, i) => messages(C, i * 20, 200 + i * 20));
        const results = await Promise.all(batches.map((batch, i) => (i % 2 ? a : b).upsertMessages(s, C, batch)));
        expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(340);
        expect((await a.getChat(s, C))?.messageCount).toBe(340);
        expect((await b.listMessages(s, C, { limit: 500 })).items).toHaveLength(340);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('a database that refuses writes fails ping and writes as unavailable (25006), and works again once writable', async () => {
      const other = await createTestDatabase('readonly');
      const admin = new Client({ connectionString: other.url });
      await admin.connect();
      try {
        await (await open(other.url)).close(); // the schema, while writable
        await admin.query(`ALTER DATABASE ${other.name} SET default_transaction_read_only = on`);
        const ro = new PgStore(other.url); // new connections get the setting
        try {
          const s = uniqueSessionId('ro');
          const pinged = await ro.ping().catch((err: unknown) => err);
          expect(pinged).toMatchObject({ code: '25006' });
          expect(isStoreUnavailable(pinged)).toBe(true);
          const write = await ro.upsertMessages(s, C, messages(C, 0, 3)).catch((err: unknown) => err);
          expect(write).toMatchObject({ code: '25006' });
          expect(isStoreUnavailable(write)).toBe(true);
          await expect(ro.init()).rejects.toMatchObject({ code: '25006' });
        } finally {
          await ro.close();
        }
        await admin.query(`ALTER DATABASE ${other.name} RESET default_transaction_read_only`);
        const rw = await open(other.url);
        try {
          await expect(rw.ping()).resolves.toBeUndefined();
          expect(await rw.upsertMessages(uniqueSessionId('rw'), C, messages(C, 0, 3))).toEqual({ inserted: 3, existing: 0 });
        } finally {
          await rw.close();
        }
      } finally {
        await admin.end();
        await other.drop();
      }
    });

    it('carries on after the server ends its connections (pg_terminate_backend), exactly', async () => {
      const store = await open();
      try {
        const s = uniqueSessionId('killed');
        await store.upsertMessages(s, C, messages(C, 0, 50));
        expect(await terminateConnections(db.name)).toBeGreaterThan(0);
        // The pool's connections are dead: the next calls run again on fresh ones.
        expect(await store.upsertMessages(s, C, messages(C, 25, 100))).toEqual({ inserted: 50, existing: 25 });
        await Promise.all([terminateConnections(db.name), store.ping().catch(() => undefined)]);
        expect((await store.getChat(s, C))?.messageCount).toBe(100);
        expect((await store.listMessages(s, C, { limit: 500 })).items).toHaveLength(100);
      } finally {
        await store.close();
      }
    });
  });
});
