import { SqliteStore, type SqliteStoreOptions } from './sqlite.store';
import type { PgStoreOptions } from './pg.connection';
import type { Store } from './store.interface';

const ACCEPTED =
  'sqlite:<path>, sqlite::memory:, postgres://[user:pass@]host[:port]/<db>[?pool_max=N] (or postgresql://), mongodb://[user:pass@]host[:port]/<db> or mongodb+srv://…/<db>';

export interface StoreOptions {
  /** Used when the URL names a SQLite file (the API sets `lockWaitMs`: its event loop never waits on the lock). */
  sqlite?: SqliteStoreOptions;
  /** Used when the URL names a PostgreSQL server. */
  postgres?: PgStoreOptions;
}

/** Opens and initialises the store named by `STORE_URL`. */
export async function createStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const store = openStore(url, options);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

function openStore(url: string, options: StoreOptions): Store {
  const trimmed = url.trim();
  if (/^sqlite:/i.test(trimmed)) {
    const path = trimmed.slice('sqlite:'.length);
    if (path === '') throw new Error(`store URL "sqlite:" names no file; accepted forms: ${ACCEPTED}`);
    return new SqliteStore(path, options.sqlite);
  }
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    // Loaded only here, like the MongoDB driver: a SQLite deployment never pays for it.
    const { PgStore } = require('./pg.store') as typeof import('./pg.store');
    return new PgStore(trimmed, options.postgres);
  }
  if (/^mongodb(\+srv)?:\/\//i.test(trimmed)) {
    // Loaded only here: the MongoDB driver is ~130 modules and ~7 MiB of heap a SQLite deployment never uses.
    const { MongoStore } = require('./mongo.store') as typeof import('./mongo.store');
    return new MongoStore(trimmed);
  }
  throw new Error(`unsupported store URL "${describeStoreUrl(trimmed)}"; accepted forms: ${ACCEPTED}`);
}

/** The URL with any password replaced by `***`, for logs and error messages. */
export function describeStoreUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return url;
  // Userinfo ends at the last '@' before the query: an unencoded '@' or '/' in a password must not leak it.
  const rest = url.slice(scheme[0].length);
  const at = rest.split(/[?#]/)[0].lastIndexOf('@');
  if (at === -1) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return url;
  return `${scheme[0]}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}
