import { MongoClient } from 'mongodb';
import { dbNameFromUrl } from './mongo.schema';
import { MongoStore } from './mongo.store';
import { describeStoreContract } from './store.contract';
import { createStore } from './store.factory';
import { messages, uniqueSessionId } from './store-fixtures.contract';

const url = process.env.MONGO_URL;

describe('MongoStore without a server', () => {
  it('takes the database name from the URL path', () => {
    expect(dbNameFromUrl('mongodb://localhost:27017/wa-sync')).toBe('wa-sync');
    expect(dbNameFromUrl('mongodb://u:p%2Fw@h1:1,h2:2/prod_db?replicaSet=rs0&authSource=admin')).toBe('prod_db');
    expect(dbNameFromUrl('mongodb+srv://u:p@cluster0.example.net/my%20db?retryWrites=true')).toBe('my db');
    expect(dbNameFromUrl('mongodb://localhost:27017/')).toBe('wa-sync');
    expect(dbNameFromUrl('mongodb://localhost:27017?directConnection=true')).toBe('wa-sync');
  });

  it('createStore fails cleanly when MongoDB cannot be reached', async () => {
    await expect(createStore('mongodb://127.0.0.1:9/wa-sync?serverSelectionTimeoutMS=300')).rejects.toThrow();
  });
});

if (!url) {
  process.stderr.write('MongoDB contract suite skipped: MONGO_URL is not set\n');
  describe.skip('Store contract: mongodb', () => {
    it('runs when MONGO_URL is set (e.g. MONGO_URL=mongodb://127.0.0.1:27017)', () => undefined);
  });
} else {
  // One database per run, dropped at the end: runs against a shared server do not collide.
  const dbName = `wa_sync_test_${Date.now().toString(36)}_${process.pid}`;
  const open = async () => {
    const store = new MongoStore(url, { dbName });
    await store.init();
    return store;
  };

  afterAll(async () => {
    const client = new MongoClient(url);
    try {
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  });

  describeStoreContract('mongodb', open);

  describe('MongoStore specifics', () => {
    it('two clients (like two worker processes) racing on the same new messages store each once', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      try {
        const s = uniqueSessionId('mrace');
        const C = '5511900000003@c.us';
        const batches = Array.from({ length: 8 }, () => messages(C, 0, 200));
        const results = await Promise.all(batches.map((batch, i) => (i % 2 ? a : b).upsertMessages(s, C, batch)));
        results.forEach((r) => expect(r.inserted + r.existing).toBe(200));
        expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(200);
        expect((await a.getChat(s, C))?.messageCount).toBe(200);
        expect((await b.listChats(s, { limit: 10 })).items).toHaveLength(1);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('creates its unique keys in init()', async () => {
      const client = new MongoClient(url);
      try {
        const db = client.db(dbName);
        const unique = async (name: string) =>
          (await db.collection(name).indexes()).filter((i) => i.unique).map((i) => i.key);
        expect(await unique('messages')).toEqual([{ sessionId: 1, chatId: 1, id: 1 }]);
        expect(await unique('chats')).toEqual([{ sessionId: 1, id: 1 }]);
        expect(await unique('sessions')).toEqual([{ sessionId: 1 }]);
        expect(await unique('sync_runs')).toEqual([{ syncId: 1 }]);
      } finally {
        await client.close();
      }
    });
  });
}
