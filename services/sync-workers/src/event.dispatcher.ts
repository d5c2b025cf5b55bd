import { randomUUID } from 'node:crypto';
import { type BusEnvelope, Keys, type SessionWebhook } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import { compareEventIds, type EventLog, type Logger, type Redis, Script, subscribeEvents, useScripts } from '@wa-sync/shared/runtime';
import type { DeliveryConfig } from './delivery.config';
import { liveEventsOf } from './delivery.config';
import type { DeliveryRouter, LoggedEvent } from './delivery.router';

const PAGE = 500;
const LOCK_MS = 30_000;
/** A session's webhooks are re-read from the store at most this often. */
const WEBHOOKS_TTL_MS = 2_000;

/** The id just before `id`, so that "after it" includes `id` itself. */
export function idBefore(id: string): string {
  const [ms, seq] = id.split('-').map(BigInt);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0';
}

/**
 * Hands live session events (`message:new`…, whatever a target names besides `session_ready`)
 * to delivery jobs. The session's event log (a Redis Stream) is the outbox: a cursor per session
 * in Redis (`Keys.deliveryCursors`) records the last entry handed over, and it moves only after
 * the jobs are added. A process that dies between the two re-adds the same jobs on the next pass,
 * which BullMQ ignores (stable job ids). Pub/sub only says "look now"; a full pass over every
 * cursor at boot and every `sweepMs` covers messages lost while no process listened.
 * Loss-free as long as a process reads a session before its log trims the entry
 * (EVENT_LOG_MAXLEN); a gap is logged.
 */
export class EventDispatcher {
  private subscriber: Redis | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly hooks = new Map<string, { hooks: SessionWebhook[]; at: number }>();
  /** Sessions with a pass running; `again` when a wake came in meanwhile. */
  private readonly running = new Map<string, { again: boolean; from?: string }>();
  private readonly passes = new Set<Promise<void>>();
  private readonly live: Set<string>;
  private closed = false;

  constructor(
    private readonly deps: { redis: Redis; store: Store; log: EventLog; router: DeliveryRouter; config: DeliveryConfig; logger: Logger },
  ) {
    this.live = liveEventsOf(deps.config);
    useScripts(deps.redis, 'compareAndDelete');
  }

  async start(): Promise<void> {
    this.subscriber = this.deps.redis.duplicate();
    this.subscriber.on('error', (err: Error) => this.deps.logger.debug({ err: err.message }, 'dispatcher subscriber error'));
    // SUBSCRIBE sent before the connection's ready check would make that check fail (ioredis).
    // Errors meanwhile (Redis down at boot) are ioredis's to retry: wait for ready, however long.
    const subscriber = this.subscriber;
    if (subscriber.status !== 'ready') await new Promise<void>((resolve) => subscriber.once('ready', () => resolve()));
    if (this.closed) return;
    await subscribeEvents(this.subscriber, this.deps.log, (e) => this.onEvent(e));
    if (this.closed) return;
    this.timer = setInterval(() => this.sweep(), this.deps.config.sweepMs);
    this.sweep();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.passes);
    this.subscriber?.disconnect();
  }

  /** One pass over every session with a cursor (and every session, when the env names live events). */
  sweep(): void {
    void (async () => {
      const ids = new Set(await this.deps.redis.hkeys(Keys.deliveryCursors));
      if (this.live.size) for (const s of await this.deps.store.listSessions()) ids.add(s.sessionId);
      for (const id of ids) this.schedule(id);
    })().catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'delivery sweep failed; next one retries'));
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.passes.size) await Promise.all(this.passes);
  }

  private onEvent(e: BusEnvelope): void {
    if (e.event === 'session_ready' || this.closed) return; // finalize hands session_ready over itself
    void this.wanted(e)
      .then((yes) => yes && this.schedule(e.sessionId, e.id))
      .catch((err) => this.deps.logger.warn({ sessionId: e.sessionId, err: (err as Error).message }, 'delivery wake failed; the sweep retries'));
  }

  private async wanted(e: BusEnvelope): Promise<boolean> {
    if (this.live.has(e.event)) return true;
    const hooks = await this.sessionHooks(e.sessionId);
    return hooks.some((h) => (h.events ?? this.deps.config.webhooks.events).includes(e.event));
  }

  private async sessionHooks(sessionId: string): Promise<SessionWebhook[]> {
    const cached = this.hooks.get(sessionId);
    if (cached && Date.now() - cached.at < WEBHOOKS_TTL_MS) return cached.hooks;
    const hooks = await this.deps.store.getSessionWebhooks(sessionId);
    this.hooks.set(sessionId, { hooks, at: Date.now() });
    return hooks;
  }

  private schedule(sessionId: string, from?: string): void {
    if (this.closed) return;
    const run = this.running.get(sessionId);
    if (run) {
      run.again = true;
      run.from ??= from;
      return;
    }
    const state = { again: false, from };
    this.running.set(sessionId, state);
    const pass = (async () => {
      try {
        do {
          state.again = false;
          const from = state.from;
          state.from = undefined;
          await this.pass(sessionId, from);
        } while (state.again && !this.closed);
      } catch (err) {
        this.deps.logger.warn({ sessionId, err: (err as Error).message }, 'delivery dispatch failed; the sweep retries');
      } finally {
        this.running.delete(sessionId);
      }
    })();
    this.passes.add(pass);
    void pass.finally(() => this.passes.delete(pass));
  }

  /** Hands over everything after the session's cursor; `from` starts a session that has none. */
  private async pass(sessionId: string, from?: string): Promise<void> {
    const { redis, log } = this.deps;
    const lockKey = Keys.deliveryDispatchLock(sessionId);
    const token = randomUUID();
    // Another process holds the session: it re-reads the head after releasing, so nothing waits.
    if ((await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return;
    let cursor: string;
    try {
      cursor = await this.handOver(sessionId, from);
    } finally {
      await redis[Script.compareAndDelete](lockKey, token);
    }
    // An event logged while this process held the lock may have woken another process for nothing.
    if (compareEventIds(await log.head(sessionId), cursor) > 0) this.schedule(sessionId);
  }

  private async handOver(sessionId: string, from?: string): Promise<string> {
    const { redis, log, router, logger } = this.deps;
    let cursor = await redis.hget(Keys.deliveryCursors, sessionId);
    if (cursor === null) {
      // First look at this session: start at the event that woke us, or at the head (nothing wanted before).
      cursor = from ? idBefore(from) : await log.head(sessionId);
      await redis.hset(Keys.deliveryCursors, sessionId, cursor);
    }
    for (;;) {
      let replay = await log.readAfter(sessionId, cursor, PAGE);
      if (!replay.resumed) {
        const head = await log.head(sessionId);
        if (compareEventIds(cursor, head) >= 0) return cursor; // nothing new (or an empty log)
        logger.error({ sessionId, cursor }, 'session events were trimmed from the log before delivery (EVENT_LOG_MAXLEN): some were not delivered');
        const all = await log.tail(sessionId, log.maxLen);
        replay = { events: all.filter((e) => compareEventIds(e.id, cursor!) > 0), resumed: true, lastId: all.at(-1)?.id ?? null };
      }
      const hooks = await this.sessionHooks(sessionId);
      const wanted: LoggedEvent[] = replay.events.filter((e) => e.event !== 'session_ready' && router.wants(e.event, hooks));
      if (wanted.length) await router.enqueue(wanted, () => hooks);
      if (!replay.lastId) return cursor;
      cursor = replay.lastId;
      await redis.hset(Keys.deliveryCursors, sessionId, cursor);
      if (replay.events.length < PAGE && replay.lastId) {
        // A short page is the end of the log for now.
        return cursor;
      }
    }
  }
}
