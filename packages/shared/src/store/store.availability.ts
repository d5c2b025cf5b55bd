import { createStore, describeStoreUrl, type StoreOptions } from './store.factory';
import { StoreBusyError, type Store } from './store.interface';

/**
 * The store cannot be reached or written (no server yet, connection lost, a read-only SQLite
 * handle): nothing was written. A StoreBusyError on purpose, so everything that waits out a locked
 * store (jobs put back without spending an attempt, ordered runner writes) waits this out too; the
 * API answers 503 `store_unavailable`.
 */
export class StoreUnavailableError extends StoreBusyError {
  constructor(
    readonly reason: string,
    retryAfterS = 2,
  ) {
    super(0, retryAfterS);
    this.message = `the store is unavailable: ${reason}`;
    this.name = 'StoreUnavailableError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** An error that says the store is out of reach or refuses writes, not that the call was wrong. */
export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err === null || typeof err !== 'object') return false;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  const c = typeof code === 'string' ? code : '';
  if (/^SQLITE_(READONLY|CANTOPEN|IOERR)/.test(c) || NETWORK_CODES.has(c)) return true;
  // PostgreSQL: connection exceptions (08…), shutdowns and "cannot connect now" (57P01-03), too many
  // connections, and writes refused (25006: a standby, or the database set read-only).
  if (/^(08\w{3}|57P0[1-3]|53300|25006)$/.test(c)) return true;
  if (typeof name === 'string' && /^Mongo(ServerSelection|Network|NotConnected|TopologyClosed)/.test(name)) return true;
  return typeof message === 'string' && /Connection terminated|connection timeout|Client was closed/i.test(message);
}

export type StoreState = 'connecting' | 'up' | 'down';

export interface StoreAvailability {
  state: StoreState;
  /** Why it is not up (the last error), when it is not. */
  error?: string;
  /** When the state last changed. */
  since: Date;
}

export interface AvailableStore extends Store {
  /** Where the store stands now (the API's /readyz and the process reports read it). */
  availability(): StoreAvailability;
  /** Resolves once the store is up (at once when it is). */
  whenUp(): Promise<void>;
}

export interface StoreAvailabilityOptions {
  /** Opens, initialises and returns a fresh handle (createStore). */
  open(): Promise<Store>;
  kind: Store['kind'];
  /** Hears of every state change, once per change (log one line there). */
  onChange?(availability: StoreAvailability): void;
  /** First wait between attempts; doubles up to `maxDelayMs` (defaults 250 ms and 5 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * A Store that is there at once, whatever the state of its server: it opens in the background,
 * retrying with a capped backoff, and calls made meanwhile fail fast with StoreUnavailableError.
 * A call that fails because the store went away (isStoreUnavailable) marks it down: calls fail
 * fast again and the handle is probed (ping, which writes nothing but needs write access) and, if
 * that fails, replaced by a fresh one until one works. So a SQLite handle opened read-only is
 * reopened read-write once the files are writable again. Works for any Store: methods added to
 * the interface are forwarded as they are.
 */
export function openStoreUntilReady(options: StoreAvailabilityOptions): AvailableStore {
  const first = options.firstDelayMs ?? 250;
  const max = options.maxDelayMs ?? 5_000;
  let inner: Store | null = null;
  let availability: StoreAvailability = { state: 'connecting', since: new Date() };
  let closed = false;
  let recovering: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const waiters: Array<() => void> = [];

  const set = (state: StoreState, error?: string) => {
    if (state === availability.state) {
      availability.error = error;
      return;
    }
    availability = { state, error, since: new Date() };
    options.onChange?.({ ...availability });
    if (state === 'up') waiters.splice(0).forEach((w) => w());
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  /** Until a handle answers: probe the current one, else open a fresh one. */
  const recover = (): Promise<void> =>
    (recovering ??= (async () => {
      for (let delay = first; !closed; delay = Math.min(delay * 2, max)) {
        try {
          if (inner) {
            try {
              await inner.ping();
              set('up');
              return;
            } catch {
              // the handle itself may be what is broken (read-only SQLite): try a fresh one
            }
          }
          const fresh = await options.open();
          await fresh.ping().catch(async (err: unknown) => {
            await fresh.close().catch(() => undefined);
            throw err;
          });
          if (closed) return void (await fresh.close().catch(() => undefined));
          const old = inner;
          inner = fresh;
          set('up');
          await old?.close().catch(() => undefined);
          return;
        } catch (err) {
          set('down', (err as Error).message);
        }
        await sleep(delay);
      }
    })().finally(() => (recovering = null)));

  const unavailable = () => new StoreUnavailableError(`${availability.state}${availability.error ? `: ${availability.error}` : ''}`);
  const call = async (method: PropertyKey, args: unknown[]): Promise<unknown> => {
    if (closed) throw new StoreUnavailableError('closed');
    const handle = inner;
    if (availability.state !== 'up' || !handle) throw unavailable();
    try {
      return await (handle as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[method](...args);
    } catch (err) {
      // A failed ping says the store is not there, whatever the error.
      if ((method !== 'ping' && !isStoreUnavailable(err)) || err instanceof StoreUnavailableError) throw err;
      if (handle === inner) {
        set('down', (err as Error).message);
        void recover();
      }
      throw new StoreUnavailableError((err as Error).message);
    }
  };

  const own: Record<PropertyKey, unknown> = {
    kind: options.kind,
    // Opening already runs in the background: init does not wait for it.
    init: async () => undefined,
    ping: () => call('ping', []),
    availability: () => ({ ...availability }),
    whenUp: () => (availability.state === 'up' ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      wake?.();
      // An open still under way (a server that does not answer) closes its handle when it ends.
      await inner?.close();
      inner = null;
    },
  };
  void recover();
  return new Proxy({} as AvailableStore, {
    get(_target, prop) {
      if (prop in own) return prop === 'kind' ? (inner?.kind ?? options.kind) : own[prop];
      // Not a thenable (`await store` must not call it), and symbols are not methods.
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      const value = inner ? (inner as unknown as Record<string, unknown>)[prop] : undefined;
      if (inner && value !== undefined && typeof value !== 'function') return value;
      return (...args: unknown[]) => call(prop, args);
    },
  });
}

const MONGO_SELECTION_MS = 5_000;

/**
 * The store STORE_URL names, as openStoreUntilReady keeps it. A URL of no known kind throws at
 * once: that is a configuration error, not an outage to wait out.
 */
export function openStoreUrlUntilReady(url: string, options: StoreOptions, onChange?: (a: StoreAvailability) => void): AvailableStore {
  const u = url.trim();
  const kind = /^sqlite:./i.test(u) ? 'sqlite' : /^mongodb(\+srv)?:\/\//i.test(u) ? 'mongodb' : /^postgres(ql)?:\/\//i.test(u) ? 'postgres' : null;
  if (!kind) throw new Error(`unsupported store URL "${describeStoreUrl(u)}"; accepted forms: sqlite:<path>, mongodb://…/<db>, postgres://…/<db>`);
  // MongoDB: an operation waits for a server this long (driver default 30 s) before it fails as
  // unavailable; the first connection attempt too, whose failure is the first "store down" line.
  const opened = kind === 'mongodb' && !/[?&]serverSelectionTimeoutMS=/i.test(u) ? `${u}${u.includes('?') ? '&' : '?'}serverSelectionTimeoutMS=${MONGO_SELECTION_MS}` : u;
  return openStoreUntilReady({ open: () => createStore(opened, options), kind: kind as Store['kind'], onChange });
}
