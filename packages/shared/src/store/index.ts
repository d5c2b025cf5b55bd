// `@wa-sync/shared/store`: the Store interface, the factory that opens one from STORE_URL, and the
// implementations (SQLite, PostgreSQL, MongoDB) for tools that need one directly.
export * from './store.interface';
export * from './store.factory';
export { SqliteStore, type SqliteStoreOptions } from './sqlite.store';
// Type only: the driver loads when createStore opens a mongodb:// URL.
export type { MongoStore } from './mongo.store';
// Type only: node-postgres loads when createStore opens a postgres:// URL.
export type { PgStore, PgStoreOptions } from './pg.store';
export * from './store.availability';
