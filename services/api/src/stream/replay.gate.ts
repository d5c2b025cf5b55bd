import type { BusEnvelope } from '@wa-sync/shared/contracts';
import { compareEventIds } from '@wa-sync/shared/runtime';

/**
 * What to do with a live event: write it; nothing now (held for later, or the replay carried it);
 * or drop the client, which let more than its limit of events pile up while it replayed.
 */
export type Admission = 'deliver' | 'held' | 'skip' | 'overflow';

/**
 * The resume rule of a stream catching up (a WebSocket join with `since`, an SSE bootstrap or
 * `Last-Event-ID`), for both hubs: no gap, no duplicate. Live events that arrive while the replay
 * is read are held; `release` hands back those the replay did not carry (ids above its last). After
 * that, until a newer event has come, a live event at or below that id is one the replay already
 * carried: pub/sub and the replay read come over two Redis connections, so it can arrive late.
 */
export class ReplayGate {
  private held: BusEnvelope[] | null = [];
  private floor: string | null = null;

  get replaying(): boolean {
    return this.held !== null;
  }

  /** Nothing left to decide: the hub can forget the gate, and every event is delivered. */
  get open(): boolean {
    return this.held === null && this.floor === null;
  }

  admit(envelope: BusEnvelope, maxHeld = Infinity): Admission {
    if (this.held) {
      this.held.push(envelope);
      return this.held.length > maxHeld ? 'overflow' : 'held';
    }
    if (this.floor !== null) {
      if (compareEventIds(envelope.id, this.floor) <= 0) return 'skip';
      // Ids only go up from here: no need to compare again.
      this.floor = null;
    }
    return 'deliver';
  }

  /** Ends the replay, which went up to `through` (null: it carried nothing); returns the held events to write, in order. */
  release(through: string | null): BusEnvelope[] {
    const held = this.held ?? [];
    this.held = null;
    this.floor = through;
    return through ? held.filter((envelope) => compareEventIds(envelope.id, through) > 0) : held;
  }
}
