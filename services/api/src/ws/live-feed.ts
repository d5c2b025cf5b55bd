import { type BusEnvelope, type EventLog, type Logger, compareEventIds } from '@wa-sync/shared';

/** Delivers an event to this process's sockets and streams; `fill` marks one read back from the log after a gap. */
export type Deliver = (envelope: BusEnvelope, fill: boolean) => void;

/**
 * The API's side of the events channel. Pub/sub forgets what is published while the subscriber
 * is reconnecting; every event is in its session's log too, so after a reconnect the feed reads
 * each watched session's log from the last id it delivered, and holds that session's live events
 * back meanwhile. Ids only go up per session: a repeat (the overlap of the two) is dropped.
 */
export class LiveFeed {
  private readonly lastIds = new Map<string, string>();
  private readonly filling = new Map<string, BusEnvelope[]>();

  constructor(
    private readonly events: EventLog,
    private readonly deliver: Deliver,
    /** Sessions some socket or stream of this process listens to. */
    private readonly watched: () => Iterable<string>,
    private readonly logger: Logger,
  ) {}

  /**
   * A socket or stream now listens to the session from log position `id`: where a gap fill starts
   * if no event of the session has come through yet.
   */
  observe(sessionId: string, id: string): void {
    if (!this.lastIds.has(sessionId)) this.lastIds.set(sessionId, id);
  }

  push(envelope: BusEnvelope): void {
    const held = this.filling.get(envelope.sessionId);
    if (held) held.push(envelope);
    else this.forward(envelope, false);
  }

  /** Call once the subscription is back: reads what each watched session logged meanwhile. */
  async fillGaps(): Promise<void> {
    const sessions = [...new Set(this.watched())].filter((s) => this.lastIds.has(s) && !this.filling.has(s));
    let filled = 0;
    await Promise.all(
      sessions.map(async (sessionId) => {
        this.filling.set(sessionId, []);
        try {
          const replay = await this.events.replayAfter(sessionId, this.lastIds.get(sessionId)!);
          if (!replay.resumed) this.logger.warn({ sessionId }, 'events missed while the subscriber was away are no longer in the log');
          for (const envelope of replay.events) filled += this.forward(envelope, true) ? 1 : 0;
        } catch (err) {
          this.logger.warn({ sessionId, err: (err as Error).message }, 'could not read the events missed while the subscriber was away');
        } finally {
          const held = this.filling.get(sessionId) ?? [];
          this.filling.delete(sessionId);
          for (const envelope of held) this.forward(envelope, false);
        }
      }),
    );
    this.logger.info({ sessions: sessions.length, filled }, 'event subscription back: missed events delivered from the logs');
  }

  private forward(envelope: BusEnvelope, fill: boolean): boolean {
    const last = this.lastIds.get(envelope.sessionId);
    if (last && compareEventIds(envelope.id, last) <= 0) return false;
    this.lastIds.set(envelope.sessionId, envelope.id);
    this.deliver(envelope, fill);
    return true;
  }
}
