import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite.store';
import { describeStoreContract } from './store.contract';
import { createStore, describeStoreUrl } from './store.factory';
import { messages, uniqueSessionId } from './store-fixtures.contract';
import { waitFor } from '../../../../test/support/wait-for';

const dir = mkdtempSync(join(tmpdir(), 'wa-sync-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract('sqlite (file)', async () => {
  const store = new SqliteStore(join(dir, 'contract', 'store.db'));
  await store.init();
  return store;
});

describeStoreContract('sqlite (:memory: via createStore)', () => createStore('sqlite::memory:'));

/** Runs a TypeScript snippet in a separate node process, transpiling .ts files with tsc's transpileModule. */
interface NodeChild {
  /** Its stdout once it exits 0; rejects with its stderr otherwise. */
  done: Promise<string>;
  /** What it has printed so far. */
  output(): string;
}

/** `script` in a new Node process; `ts` lets it require the store's TypeScript sources. */
function runNode(script: string, { ts = true } = {}): NodeChild {
  const register = `
    const ts = require('typescript');
    const fs = require('node:fs');
    require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText, file);
  `;
  const child = spawn(process.execPath, ['-e', (ts ? register : '') + script], { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return { done, output: () => out };
}

describe('SqliteStore on one file shared by several processes', () => {
  it('stores every message once while three processes and this one write the same chats', async () => {
    const file = join(dir, 'shared', 'multi.db');
    const s = uniqueSessionId('multi');
    const C = '5511900000001@c.us';
    const mine = new SqliteStore(file, { busyTimeoutMs: 30_000 });
    await mine.init();
    const writer = (from: number) => `
      const { SqliteStore } = require('./sqlite.store.ts');
      const { messages } = require('./store-fixtures.contract.ts');
      (async () => {
        const store = new SqliteStore(${JSON.stringify(file)}, { busyTimeoutMs: 30000 });
        await store.init();
        let inserted = 0;
        // Overlapping windows of 50 messages, written in small batches to interleave with the others.
        for (let i = ${from}; i < ${from} + 400; i += 10) {
          inserted += (await store.upsertMessages(${JSON.stringify(s)}, ${JSON.stringify(C)}, messages(${JSON.stringify(C)}, i, i + 50))).inserted;
        }
        await store.close();
        process.stdout.write(String(inserted));
      })().catch((err) => { console.error(err); process.exit(1); });
    `;
    const children = [0, 100, 200].map((from) => runNode(writer(from)).done);
    let mineInserted = 0;
    for (let i = 0; i < 600; i += 25) {
      mineInserted += (await mine.upsertMessages(s, C, messages(C, i, i + 25))).inserted;
      await new Promise((r) => setTimeout(r, 2));
    }
    const counts = (await Promise.all(children)).map(Number);
    expect(counts.reduce((a, b) => a + b, 0) + mineInserted).toBe(640);
    expect((await mine.getChat(s, C))?.messageCount).toBe(640);
    const stored = (await mine.listMessages(s, C, { limit: 500 })).items.length;
    const rest = (await mine.listMessages(s, C, { limit: 500, before: messages(C, 140, 141)[0].timestamp })).items.length;
    expect(stored + rest).toBe(640);
    await mine.close();
  });

  it('lets a second connection read what the first one wrote, and waits out a lock held elsewhere', async () => {
    const file = join(dir, 'shared', 'two.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file, { busyTimeoutMs: 5_000 });
    await a.init();
    await b.init();
    const s = uniqueSessionId('two');
    const C = '5511900000002@c.us';
    await a.upsertMessages(s, C, messages(C, 0, 10));
    expect((await b.getChat(s, C))?.messageCount).toBe(10);
    // Another process holds the write lock for 300 ms; our write must wait for it, not fail with SQLITE_BUSY.
    const holder = runNode(
      `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(file)});
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked;');
      setTimeout(() => { db.exec('COMMIT'); process.stdout.write('committed:' + Date.now()); db.close(); }, 300);
    `,
      { ts: false },
    );
    await waitFor('the other process to take the lock', () => holder.output().includes('locked;'), 30_000);
    expect(await b.upsertMessages(s, C, messages(C, 5, 15))).toEqual({ inserted: 5, existing: 5 });
    const wroteAt = Date.now();
    const committedAt = Number(/committed:(\d+)/.exec(await holder.done)?.[1]);
    // Our write could only finish once the lock was released.
    expect(wroteAt).toBeGreaterThanOrEqual(committedAt);
    expect((await a.getChat(s, C))?.messageCount).toBe(15);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await a.close();
    await b.close();
  });

  it('creates the parent directory and refuses to work before init()', async () => {
    const file = join(dir, 'deep', 'er', 'x.db');
    const store = new SqliteStore(file);
    expect(existsSync(join(dir, 'deep', 'er'))).toBe(true);
    await expect(store.getSession('x')).rejects.toThrow(/init/);
    await store.close();
  });
});

describe('SqliteStore group commit', () => {
  it('commits concurrent batches together, and a batch that fails inside the transaction fails alone', async () => {
    const store = new SqliteStore(join(dir, 'group', 'store.db'));
    await store.init();
    const s = uniqueSessionId('group');
    // Same turn of the event loop: one shared transaction. The bad batch passes the checks made
    // before it is queued and throws inside the transaction (its editedAt is not a time).
    const bad = messages('b@c.us', 0, 5).map((m, i) => (i === 3 ? { ...m, editedAt: 'not a time' } : m));
    const settled = await Promise.allSettled([
      store.upsertMessages(s, 'a@c.us', messages('a@c.us', 0, 30)),
      store.upsertMessages(s, 'b@c.us', bad),
      store.upsertMessages(s, 'a@c.us', messages('a@c.us', 20, 40)),
      store.upsertMessages(s, 'c@c.us', messages('c@c.us', 0, 10)),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual([
      { inserted: 30, existing: 0 },
      null,
      { inserted: 10, existing: 10 },
      { inserted: 10, existing: 0 },
    ]);
    const count = async (chatId: string) => (await store.listMessages(s, chatId, { limit: 100 })).items.length;
    expect([await count('a@c.us'), await count('b@c.us'), await count('c@c.us')]).toEqual([40, 0, 10]);
    // Replayed together (a retried sync): nothing stored twice, counts unchanged.
    await Promise.all([store.upsertMessages(s, 'a@c.us', messages('a@c.us', 0, 40)), store.upsertMessages(s, 'c@c.us', messages('c@c.us', 0, 10))]);
    const chats = (await store.listChats(s, { limit: 10 })).items;
    expect(Object.fromEntries(chats.map((c) => [c.id, c.messageCount]))).toEqual({ 'a@c.us': 40, 'c@c.us': 10 });
    await store.close();
  });
});

describe('createStore / describeStoreUrl', () => {
  it('opens sqlite: URLs and rejects unknown forms with the accepted ones', async () => {
    const store = await createStore(`sqlite:${join(dir, 'factory', 'f.db')}`);
    expect(store.kind).toBe('sqlite');
    await store.close();
    await expect(createStore('mysql://u:secret@h/db')).rejects.toThrow(/sqlite:<path>.*mongodb:\/\//);
    await expect(createStore('mysql://u:secret@h/db')).rejects.not.toThrow(/secret/);
    await expect(createStore('sqlite:')).rejects.toThrow(/names no file/);
  });

  it('hides passwords', () => {
    expect(describeStoreUrl('mongodb://user:p%40ss@h1:27017,h2/wa-sync?authSource=admin')).toBe(
      'mongodb://user:***@h1:27017,h2/wa-sync?authSource=admin',
    );
    expect(describeStoreUrl('mongodb+srv://u:pa@ss/word@cluster0.x.net/db')).toBe('mongodb+srv://u:***@cluster0.x.net/db');
    expect(describeStoreUrl('mongodb://h:27017/wa-sync')).toBe('mongodb://h:27017/wa-sync');
    expect(describeStoreUrl('mongodb://user@h/db')).toBe('mongodb://user@h/db');
    expect(describeStoreUrl('sqlite:./data/wa-sync.db')).toBe('sqlite:./data/wa-sync.db');
  });
});

describe('SqliteStore migration to full conversations (v6)', () => {
  it('keeps messages stored before it: readable at once, their new fields absent until a fetch brings them', async () => {
    const file = join(dir, 'v5', 'store.db');
    const s = uniqueSessionId('v4');
    const [m] = messages('1@c.us', 0, 1);
    const before = new SqliteStore(file);
    await before.init();
    await before.upsertMessages(s, '1@c.us', [m]);
    await before.close();
    // Back to what a v5 build left on disk.
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(file);
    db.exec(`ALTER TABLE messages DROP COLUMN extra; ALTER TABLE messages DROP COLUMN reactions;
      ALTER TABLE chats DROP COLUMN participants; DROP TABLE contacts; PRAGMA user_version = 5;`);
    db.close();

    const after = new SqliteStore(file);
    await after.init();
    try {
      expect(await after.getMessage(s, '1@c.us', m.id)).toEqual(m);
      const full = { ...m, senderName: 'Ana', reactions: [{ emoji: '👍', senderId: '2@c.us', timestamp: m.timestamp }] };
      await after.upsertMessages(s, '1@c.us', [full]);
      expect(await after.getMessage(s, '1@c.us', m.id)).toEqual(full);
      expect((await after.listContacts(s, { limit: 5 })).items).toEqual([]);
    } finally {
      await after.close();
    }
  });
});
