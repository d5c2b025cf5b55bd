import { type BusEnvelope, EventEnvelope, type SessionEventName, type SessionEvents, SessionEventSchemas } from './session-event.schemas';
import { Keys } from './redis.keys';
import type { Logger } from './logger.factory';
import type { Redis } from './redis.client';
import { Script, useScripts } from './script.registry';

/** Default of EVENT_LOG_MAXLEN: events kept per session for resume. */
export const DEFAULT_EVENT_LOG_MAXLEN = 2000;

export interface Replay {
  /** Events after `since`, oldest first (entries that do not parse are skipped). */
  events: BusEnvelope[];
  /** False when the log no longer holds `since` (trimmed, or Redis lost it): reload from the REST API. */
  resumed: boolean;
  /** Id of the newest entry read, parsed or not: where to continue from. */
  lastId: string | null;
}

/**
 * The per-session event log: every session event is appended (capped at `maxLen`) and then
 * published on `Keys.eventsChannel`, in one atomic script. Readers parse every entry with the
 * shared schemas; one that does not parse is skipped with a warning, never a crash.
 */
export class EventLog {
  constructor(
    private readonly redis: Redis,
    private readonly options: { maxLen?: number; logger?: Logger } = {},
  ) {
    useScripts(redis, 'appendEvent');
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  get maxLen(): number {
    return this.options.maxLen ?? DEFAULT_EVENT_LOG_MAXLEN;
  }

  /** Validates, appends and announces an event; returns its log id. */
  async append<E extends SessionEventName>(sessionId: string, event: E, data: SessionEvents[E]): Promise<string> {
    const parsed = SessionEventSchemas[event].parse(data);
    return this.redis[Script.appendEvent](Keys.eventLog(sessionId), this.maxLen, Keys.eventsChannel, sessionId, event, JSON.stringify(parsed));
  }

  /** Events logged after `since` (exclusive), oldest first, at most `limit`. */
  async readAfter(sessionId: string, since: string, limit = this.maxLen): Promise<Replay> {
    const key = Keys.eventLog(sessionId);
    const resumed = await this.holds(key, since);
    if (!resumed) return { events: [], resumed: false, lastId: null };
    const { events, lastId } = await this.range(sessionId, `(${since}`, '+', limit);
    return { events, lastId, resumed: true };
  }

  /**
   * Every event after `since`, oldest first, read in pages of `pageSize` (the log is capped, so
   * this is bounded). `since` of `0-0` (an empty log's head) reads the whole log when it was never
   * trimmed. `lastId` is the newest entry read, parsed or not (null when nothing was read).
   */
  async replayAfter(sessionId: string, since: string, pageSize = 500): Promise<Replay> {
    if (!(await this.holds(Keys.eventLog(sessionId), since))) return { events: [], resumed: false, lastId: null };
    const events: BusEnvelope[] = [];
    let lastId: string | null = null;
    for (;;) {
      const page = await this.range(sessionId, `(${lastId ?? since}`, '+', pageSize);
      events.push(...page.events);
      if (page.lastId) lastId = page.lastId;
      if (page.read < pageSize) return { events, resumed: true, lastId };
    }
  }

  /** The newest `limit` events, oldest first. */
  async tail(sessionId: string, limit: number): Promise<BusEnvelope[]> {
    const raw = (await this.redis.xrevrange(Keys.eventLog(sessionId), '+', '-', 'COUNT', limit)) as [string, string[]][];
    return raw.reverse().flatMap(([id, fields]) => this.parseEntry(sessionId, id, fields));
  }

  /** Id of the newest entry, or `0-0` for an empty log: a resume point taken before reading state. */
  async head(sessionId: string): Promise<string> {
    const raw = (await this.redis.xrevrange(Keys.eventLog(sessionId), '+', '-', 'COUNT', 1)) as [string, string[]][];
    return raw[0]?.[0] ?? '0-0';
  }

  /** Parses a message of the events channel; null (and a warning) when it is not a valid envelope. */
  parseMessage(raw: string): BusEnvelope | null {
    return parseEnvelope(raw, this.options.logger);
  }

  private async range(sessionId: string, start: string, end: string, limit: number): Promise<Omit<Replay, 'resumed'> & { read: number }> {
    const raw = (await this.redis.xrange(Keys.eventLog(sessionId), start, end, 'COUNT', limit)) as [string, string[]][];
    const events = raw.flatMap(([id, fields]) => this.parseEntry(sessionId, id, fields));
    return { events, lastId: raw.at(-1)?.[0] ?? null, read: raw.length };
  }

  private parseEntry(sessionId: string, id: string, fields: string[]): BusEnvelope[] {
    // Field names sit at even indexes: a garbage entry whose value is "e" is not mistaken for it.
    const at = fields.findIndex((f, i) => i % 2 === 0 && f === 'e');
    const json = at === -1 ? undefined : fields[at + 1];
    if (json === undefined) this.options.logger?.warn({ id, sessionId }, 'skipped a log entry without an event');
    const envelope = typeof json === 'string' ? parseEnvelope(json, this.options.logger, id) : null;
    if (!envelope || envelope.sessionId !== sessionId) return [];
    return [{ ...envelope, id }];
  }

  /**
   * True when every entry after `since` is still in the log. Trimming (MAXLEN) does not move
   * `max-deleted-entry-id` (only XDEL does), so a trimmed log holds `since` only from its first
   * entry on: the trimmed ids are unknown, and one of them may be newer than `since`.
   */
  private async holds(key: string, since: string): Promise<boolean> {
    let info: unknown[];
    try {
      info = (await this.redis.call('XINFO', 'STREAM', key)) as unknown[];
    } catch {
      return false; // no log at all: Redis lost it, or the session never logged anything
    }
    const field = (name: string): unknown => {
      const at = info.findIndex((v, i) => i % 2 === 0 && v === name);
      return at === -1 ? undefined : info[at + 1];
    };
    const lastGenerated = String(field('last-generated-id'));
    const maxDeleted = (field('max-deleted-entry-id') as string | undefined) ?? '0-0';
    const first = field('first-entry');
    const firstId = Array.isArray(first) ? String(first[0]) : null;
    const removedAny = Number(field('entries-added')) !== Number(field('length'));
    if (compareEventIds(since, lastGenerated) > 0) return false; // from another log (Redis was replaced)
    if (compareEventIds(since, maxDeleted) < 0) return false;
    if (!removedAny || compareEventIds(since, lastGenerated) === 0) return true;
    return firstId !== null && compareEventIds(since, firstId) >= 0;
  }
}

/** Orders two stream ids (`<ms>-<seq>`). */
export function compareEventIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return (as ?? 0n) < (bs ?? 0n) ? -1 : 1;
  return 0;
}

function parseEnvelope(raw: string, logger: Logger | undefined, id?: string): BusEnvelope | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    logger?.warn({ id, bytes: raw.length }, 'skipped an event that is not JSON');
    return null;
  }
  const parsed = EventEnvelope.safeParse(json);
  if (!parsed.success) {
    logger?.warn({ id, issue: parsed.error.issues[0]?.message }, 'skipped an event that does not match its schema');
    return null;
  }
  const envelope = parsed.data;
  const eventId = id ?? envelope.id;
  if (!eventId) {
    logger?.warn('skipped an event without a log id');
    return null;
  }
  return { sessionId: envelope.sessionId, event: envelope.event, data: envelope.data, id: eventId } as BusEnvelope;
}

/** Subscribes a dedicated connection (a subscriber can run no other command) to every session's events. */
export async function subscribeEvents(subscriber: Redis, log: EventLog, onEvent: (envelope: BusEnvelope) => void): Promise<void> {
  subscriber.on('message', (channel: string, raw: string) => {
    if (channel !== Keys.eventsChannel) return;
    const envelope = log.parseMessage(raw);
    if (!envelope) return;
    // A throw here would surface in ioredis's socket handler and take the process down.
    try {
      onEvent(envelope);
    } catch (err) {
      log.logger?.error({ err, event: envelope.event, id: envelope.id }, 'handling a session event failed');
    }
  });
  await subscriber.subscribe(Keys.eventsChannel);
}
