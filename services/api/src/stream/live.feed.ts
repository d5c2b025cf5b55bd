import { type BusEnvelope } from '@wa-sync/shared/contracts';
import { type EventLog, type Logger, compareEventIds } from '@wa-sync/shared/runtime';

/** Delivers an event to this process's sockets and streams. */
export type Deliver = (envelope: BusEnvelope) => void;

/**
 * The API's side of the events channel. Pub/sub forgets what is published while the subscriber
 * is reconnecting; every event is in its session's log too, so from the moment the connection is
 * lost the feed holds live events back, and once the subscription is back it reads each watched
 * session's log from the last id it delivered, then lets the held events through. Ids only go up
 * per session: a repeat (the overlap of the two) is dropped.
 */
export class LiveFeed {
  private readonly lastIds = new Map<string, string>();
  /** Where a fill starts for a session none of whose events came through yet (never used to drop one). */
  private readonly anchors = new Map<string, string>();
  /** Live events held back from the loss of the subscription until its gaps are filled. */
  private held: BusEnvelope[] | null = null;
  /** Losses so far: a fill only releases the held events if no newer loss happened meanwhile. */
  private losses = 0;

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
    if (!this.lastIds.has(sessionId) && !this.anchors.has(sessionId)) this.anchors.set(sessionId, id);
  }

  push(envelope: BusEnvelope): void {
    if (this.held) this.held.push(envelope);
    else this.forward(envelope);
  }

  /** The subscriber connection is gone: what comes after the reconnect waits for the fill. */
  lost(): void {
    this.losses++;
    this.held ??= [];
  }

  /** Call once the subscription is back: reads what each watched session logged meanwhile. */
  async fillGaps(): Promise<void> {
    const loss = this.losses;
    this.held ??= [];
    const sessions = [...new Set(this.watched())].filter((s) => this.lastIds.has(s) || this.anchors.has(s));
    let filled = 0;
    await Promise.all(
      sessions.map(async (sessionId) => {
        try {
          const replay = await this.events.replayAfter(sessionId, this.lastIds.get(sessionId) ?? this.anchors.get(sessionId)!);
          if (!replay.resumed) this.logger.warn({ sessionId }, 'events missed while the subscriber was away are no longer in the log');
          for (const envelope of replay.events) filled += this.forward(envelope) ? 1 : 0;
        } catch (err) {
          this.logger.warn({ sessionId, err: (err as Error).message }, 'could not read the events missed while the subscriber was away');
        }
      }),
    );
    // Lost again meanwhile: the next fill releases them, after reading its own gap.
    if (loss !== this.losses) return;
    const held = this.held ?? [];
    this.held = null;
    for (const envelope of held) this.forward(envelope);
    this.logger.info({ sessions: sessions.length, filled }, 'event subscription back: missed events delivered from the logs');
  }

  private forward(envelope: BusEnvelope): boolean {
    const last = this.lastIds.get(envelope.sessionId);
    if (last && compareEventIds(envelope.id, last) <= 0) return false;
    this.lastIds.set(envelope.sessionId, envelope.id);
    this.anchors.delete(envelope.sessionId);
    this.deliver(envelope);
    return true;
  }
}
