import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from './store.factory';
import { StoreUnavailableError, isStoreUnavailable, openStoreUntilReady } from './store.availability';
import { StoreBusyError } from './store.interface';

describe('openStoreUntilReady', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'wa-avail-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails fast while the store cannot be opened, retries, and serves once it opens', async () => {
    let refuse = 2;
    const changes: string[] = [];
    const store = openStoreUntilReady({
      kind: 'sqlite',
      firstDelayMs: 10,
      open: async () => {
        if (refuse-- > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return createStore(`sqlite:${join(dir, 'a.db')}`);
      },
      onChange: (a) => changes.push(`${a.state}${a.error ? `: ${a.error}` : ''}`),
    });
    const early = store.ensureSession('s1');
    await expect(early).rejects.toBeInstanceOf(StoreUnavailableError);
    // A StoreBusyError too: jobs are put back without spending an attempt, as for a locked store.
    await expect(early).rejects.toBeInstanceOf(StoreBusyError);
    await store.whenUp();
    // One line per change, however many attempts failed.
    expect(changes).toEqual(['down: connect ECONNREFUSED', 'up']);
    expect((await store.ensureSession('s1')).created).toBe(true);
    expect(store.kind).toBe('sqlite');
    await store.close();
  });

  it('tells outages from bad calls', () => {
    expect(isStoreUnavailable(Object.assign(new Error('x'), { code: 'SQLITE_READONLY' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('x'), { name: 'MongoServerSelectionError' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' }))).toBe(false);
    expect(isStoreUnavailable(new Error('message 3 has no id'))).toBe(false);
  });
});
