/**
 * Frames queued for connections during one event-loop turn, written with one write per
 * connection at the end of the turn (`setImmediate`). Fan-out to thousands of sockets was bound
 * by one syscall per socket per event; events that arrive together (one Redis read often carries
 * several) now cost one syscall per socket together. Connections that got the same frames in a
 * turn (nearly all of them: the same session's events) share one packed Buffer, so packing costs
 * once per turn, not once per socket.
 */
export interface Outbox {
  /** Frames queued this turn, in order; null when nothing is queued. */
  outbox: Buffer[] | null;
}

/** Numbers frames so a turn's sequence of frames has a cheap key. Keyed by the (cached) frame Buffer. */
const frameIds = new WeakMap<Buffer, number>();
let nextFrameId = 0;

function frameId(frame: Buffer): number {
  let id = frameIds.get(frame);
  if (id === undefined) frameIds.set(frame, (id = ++nextFrameId));
  return id;
}

/** A flush slowed down by a busy machine does not hold the next one back longer than this. */
const MAX_PAUSE_MS = 100;

export class TurnBatch<C extends Outbox> {
  private dirty: C[] = [];
  private scheduled = false;
  /** When the last flush ended and how long it took (performance.now() ms). */
  private lastFlushEnd = -Infinity;
  private lastFlushMs = 0;

  constructor(
    /** Writes a turn's packed frames to one connection (checks it is still open first). */
    private readonly write: (client: C, chunk: Buffer) => void,
    /** Packs a turn's frames into one chunk (e.g. concatenates; SSE adds chunked framing). */
    private readonly pack: (frames: Buffer[]) => Buffer,
  ) {}

  enqueue(client: C, frame: Buffer): void {
    if (client.outbox) {
      client.outbox.push(frame);
      return;
    }
    client.outbox = [frame];
    this.dirty.push(client);
    if (!this.scheduled) {
      this.scheduled = true;
      // At most half of the time in flushes: after a flush that took d ms (writing to thousands
      // of sockets does), the next waits d ms, and the events of those ms share its writes. With
      // few sockets d is near 0: every event goes out at the end of its turn.
      const wait = this.lastFlushEnd + Math.min(this.lastFlushMs, MAX_PAUSE_MS) - performance.now();
      if (wait < 1) setImmediate(this.flush);
      else setTimeout(this.flush, wait);
    }
  }

  /** Writes everything queued so far (also called by the timer at the end of the turn). */
  readonly flush = (): void => {
    this.scheduled = false;
    const start = performance.now();
    const dirty = this.dirty;
    this.dirty = [];
    const packed = new Map<string, Buffer>();
    for (const client of dirty) {
      const frames = client.outbox;
      client.outbox = null;
      if (!frames) continue;
      let key = '';
      for (const frame of frames) key += `${frameId(frame)},`;
      let chunk = packed.get(key);
      if (chunk === undefined) packed.set(key, (chunk = this.pack(frames)));
      this.write(client, chunk);
    }
    this.lastFlushEnd = performance.now();
    this.lastFlushMs = this.lastFlushEnd - start;
  };
}
