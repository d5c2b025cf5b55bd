import type { BusEnvelope } from '@wa-sync/shared/contracts';
import { ReplayGate } from './replay.gate';

/** Live events one client may let pile up while it replays (WS `since`, SSE bootstrap) before it is dropped. */
export const DEFAULT_MAX_PENDING = 20_000;

/** What a hub does with its clients; the rooms decide who gets what. */
export interface RoomSink<C> {
  /** Writes a logged event to the client (the hub may still skip it, e.g. stale progress). */
  deliver(client: C, envelope: BusEnvelope): void;
  /** The client let too much pile up: the hub closes it (it resumes from its last id). */
  drop(client: C, reason: string): void;
}

interface Seat {
  /** Holds live events while the client replays, then settles (see ReplayGate); null once open. */
  gate: ReplayGate | null;
}

/**
 * Which clients of one hub (WebSocket or SSE) listen to which session, and the one replay-gated
 * dispatch both hubs use: a logged event goes to every client of its session, except those still
 * replaying (held for them) or whose replay already carried it.
 */
export class Rooms<C> {
  private readonly rooms = new Map<string, Map<C, Seat>>();

  constructor(
    private readonly sink: RoomSink<C>,
    /** Read at each dispatch: a hub may be configured after it was built. */
    private readonly maxPending: () => number = () => DEFAULT_MAX_PENDING,
  ) {}

  /**
   * Joins a room. With `hold`, live events of that session are kept back until `release`: the
   * caller reads the replay meanwhile, so nothing published in between is lost. A second join
   * while the first still replays keeps the first's held events.
   */
  join(sessionId: string, client: C, hold: boolean): void {
    let room = this.rooms.get(sessionId);
    if (!room) this.rooms.set(sessionId, (room = new Map()));
    const seat = room.get(client);
    if (!seat) room.set(client, { gate: hold ? new ReplayGate() : null });
    else if (hold && !seat.gate?.replaying) seat.gate = new ReplayGate();
  }

  leave(sessionId: string, client: C): boolean {
    const room = this.rooms.get(sessionId);
    const left = room?.delete(client) ?? false;
    if (room?.size === 0) this.rooms.delete(sessionId);
    return left;
  }

  /** True while the client's join with `hold` has not been released. */
  replaying(sessionId: string, client: C): boolean {
    return this.rooms.get(sessionId)?.get(client)?.gate?.replaying ?? false;
  }

  /** Delivers the held-back events newer than `through` (the replay's last id; null: it carried nothing), then goes live. */
  release(sessionId: string, client: C, through: string | null): void {
    const seat = this.rooms.get(sessionId)?.get(client);
    const gate = seat?.gate;
    if (!seat || !gate?.replaying) return;
    const held = gate.release(through);
    if (gate.open) seat.gate = null;
    for (const envelope of held) this.sink.deliver(client, envelope);
  }

  /** Sessions some client listens to. */
  sessions(): Iterable<string> {
    return this.rooms.keys();
  }

  /** Every client of a session. */
  members(sessionId: string): Iterable<C> {
    return this.rooms.get(sessionId)?.keys() ?? [];
  }

  dispatch(envelope: BusEnvelope): void {
    const room = this.rooms.get(envelope.sessionId);
    if (!room) return;
    for (const [client, seat] of room) {
      const gate = seat.gate;
      if (gate) {
        const max = this.maxPending();
        const admission = gate.admit(envelope, max);
        if (admission === 'overflow') this.sink.drop(client, `more than ${max} live events arrived during its replay`);
        if (admission !== 'deliver') continue;
        if (gate.open) seat.gate = null;
      }
      this.sink.deliver(client, envelope);
    }
  }
}
