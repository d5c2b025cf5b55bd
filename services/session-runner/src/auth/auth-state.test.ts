import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlobStore, type BlobStore } from '@wa-sync/shared/blob';
import { createStore, type Store } from '@wa-sync/shared/store';
import type { AuthState } from './auth-state.interface';
import { createAuthState } from './auth-state.factory';
import { RemoteAuthStore } from './remote-auth.adapter';

let dir: string;
let store: Store;
let blobs: BlobStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-auth-'));
  store = await createStore(`sqlite:${join(dir, 'wa.db')}`);
  blobs = await createBlobStore({ url: `file:${join(dir, 'blobs')}` });
});

afterAll(async () => {
  await store?.close();
  await blobs?.close();
  rmSync(dir, { recursive: true, force: true });
});

const kinds = ['dir', 'store', 'blob'] as const;
const make = (kind: (typeof kinds)[number]): AuthState => createAuthState(kind, { dir: join(dir, 'auth'), store, blobs });

describe.each(kinds)('WA_AUTH_STORE=%s', (kind) => {
  it('keeps one blob per session, byte for byte, replaced whole and removed', async () => {
    const auth = make(kind);
    expect(auth.kind).toBe(kind);
    const s = `${kind}-a`;
    expect(await auth.load(s)).toBeNull();
    await auth.save(s, Buffer.from('first'));
    await auth.save(`${kind}-b`, Buffer.from('first'));
    const zip = Buffer.alloc(100_000, 9);
    await auth.save(s, zip);
    expect((await auth.load(s))?.equals(zip)).toBe(true);
    // Another "host" (a new instance on the same dir, store or blob store) reads the same.
    expect((await make(kind).load(s))?.equals(zip)).toBe(true);
    expect((await auth.load(`${kind}-b`))?.toString()).toBe('first');
    await auth.remove(s);
    await auth.remove(s);
    expect(await auth.load(s)).toBeNull();
    expect((await auth.load(`${kind}-b`))?.toString()).toBe('first');
  });
});

it('dir: written through a temporary file renamed into place, readable by the owner only, no temporary left', async () => {
  const auth = make('dir');
  await Promise.all([1, 2, 3].map((n) => auth.save('atomic', Buffer.alloc(50_000, n))));
  const kept = await auth.load('atomic');
  expect([1, 2, 3].some((n) => kept?.equals(Buffer.alloc(50_000, n)))).toBe(true);
  expect(readdirSync(join(dir, 'auth')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(statSync(join(dir, 'auth', 'auth-atomic.bin')).mode & 0o077).toBe(0);
});

it('blob: a replaced blob is deleted from the blob store; a session never reads another one\'s blob', async () => {
  const auth = make('blob');
  const count = async () => {
    let n = 0;
    for await (const _ of blobs.list()) n += 1;
    return n;
  };
  const before = await count();
  await auth.save('blob-x', Buffer.from('one'));
  await auth.save('blob-x', Buffer.from('two'));
  expect(await count()).toBe(before + 1);
  await auth.remove('blob-x');
  expect(await count()).toBe(before);
  // A pointer to someone else's blob (a mix-up, a copied row) is not taken for this session's credentials.
  await auth.save('blob-y', Buffer.from('secret of y'));
  await store.putAuthState('blob-z', (await store.getAuthState('blob-y'))!);
  expect(await auth.load('blob-z')).toBeNull();
});

it("RemoteAuth's store: save reads the zip RemoteAuth left, extract writes it back for another runner", async () => {
  const hostA = join(dir, 'host-a');
  const hostB = join(dir, 'host-b');
  for (const d of [hostA, hostB]) mkdirSync(d, { recursive: true });
  const zip = Buffer.from('PK\u0003\u0004 profile bytes');
  writeFileSync(join(hostA, 'RemoteAuth-s1.zip'), zip);
  const a = new RemoteAuthStore(make('store'), hostA);
  const b = new RemoteAuthStore(make('store'), hostB);
  expect(await b.sessionExists({ session: 'RemoteAuth-s1' })).toBe(false);
  await a.save({ session: 'RemoteAuth-s1' });
  expect(await b.sessionExists({ session: 'RemoteAuth-s1' })).toBe(true);
  await b.extract({ session: 'RemoteAuth-s1', path: join(hostB, 'RemoteAuth-s1.zip') });
  expect((await readFile(join(hostB, 'RemoteAuth-s1.zip'))).equals(zip)).toBe(true);
  await b.delete({ session: 'RemoteAuth-s1' });
  expect(await a.sessionExists({ session: 'RemoteAuth-s1' })).toBe(false);
});
