import type { Logger } from '@wa-sync/shared/runtime';

/**
 * Frames queued for connections, written with one write per connection per flush. Fan-out to
 * thousands of sockets is bound by one syscall per socket per write (≈ 5–10 µs of kernel time
 * each on loopback), so events that arrive close together share one write per socket.
 * Connections that got the same frames (nearly all of them: the same session's events) share one
 * packed Buffer, so packing costs once per flush, not once per socket.
 */
export interface Outbox {
  /** Frames queued since the last flush, in order; null when nothing is queued. */
  outbox: Buffer[] | null;
}

/** Numbers frames so a flush's sequence of frames has a cheap key. Keyed by the (cached) frame Buffer. */
const frameIds = new WeakMap<Buffer, number>();
let nextFrameId = 0;

function frameId(frame: Buffer): number {
  let id = frameIds.get(frame);
  if (id === undefined) frameIds.set(frame, (id = ++nextFrameId));
  return id;
}

function sameFrames(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A flush slowed down by a busy machine does not hold the next one back longer than this. */
const MAX_PAUSE_MS = 100;

/**
 * When the queued frames of every batch (WebSocket and SSE hubs alike) are written: one flush
 * for all of them, so an event reaches every socket in the same pass instead of in one pass per
 * hub at different times (which added a whole pause to the spread between first and last
 * client). After a flush that took d ms, the next waits d ms (at most MAX_PAUSE_MS): the process
 * spends at most about half its time writing, and the events of a busy spell share one write
 * per socket. With few sockets d is near 0 and every event leaves at the end of its own turn.
 */
/** What the pacer flushes. */
interface Flushable {
  flush(): void;
}

export class FlushPacer {
  private dirty = new Set<Flushable>();
  private scheduled = false;
  /** When the last flush ended and how long it took (performance.now() ms). */
  private lastFlushEnd = -Infinity;
  private lastFlushMs = 0;

  schedule(batch: Flushable): void {
    this.dirty.add(batch);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastFlushEnd + Math.min(this.lastFlushMs, MAX_PAUSE_MS) - performance.now();
    if (wait < 1) setImmediate(this.flush);
    else setTimeout(this.flush, wait);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const start = performance.now();
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const batch of dirty) batch.flush();
    this.lastFlushEnd = performance.now();
    this.lastFlushMs = this.lastFlushEnd - start;
  };
}

/** The process's one pacer: every hub's batch flushes in the same pass. */
export const flushPacer = new FlushPacer();

export class TurnBatch<C extends Outbox> {
  private dirty: C[] = [];

  constructor(
    /** Writes a flush's packed frames to one connection (checks it is still open first). */
    private readonly write: (client: C, chunk: Buffer) => void,
    /** Packs a flush's frames into one chunk (e.g. concatenates; SSE adds chunked framing). */
    private readonly pack: (frames: Buffer[]) => Buffer,
    private readonly pacer: FlushPacer = flushPacer,
  ) {}

  enqueue(client: C, frame: Buffer): void {
    if (client.outbox) {
      client.outbox.push(frame);
      return;
    }
    client.outbox = [frame];
    if (this.dirty.length === 0) this.pacer.schedule(this);
    this.dirty.push(client);
  }

  /** Writes everything queued so far (the pacer calls it; a hub closing its streams too). */
  flush(): void {
    const dirty = this.dirty;
    this.dirty = [];
    const packed = new Map<string, Buffer>();
    // Clients come in dispatch order, so neighbours nearly always got the same frames: compare
    // with the previous client's frames before building a key.
    let lastFrames: Buffer[] | null = null;
    let lastChunk: Buffer | null = null;
    for (const client of dirty) {
      const frames = client.outbox;
      client.outbox = null;
      if (!frames) continue;
      let chunk: Buffer;
      if (lastFrames !== null && lastChunk !== null && sameFrames(lastFrames, frames)) {
        chunk = lastChunk;
      } else {
        let key = '';
        for (const frame of frames) key += `${frameId(frame)},`;
        const known = packed.get(key);
        if (known === undefined) packed.set(key, (chunk = this.pack(frames)));
        else chunk = known;
        lastFrames = frames;
        lastChunk = chunk;
      }
      this.write(client, chunk);
    }
  }
}

/** What the WebSocket and SSE hubs are told about slow clients. */
export interface StreamHubOptions {
  logger?: Logger;
  /** A client with more bytes queued than this (one that does not read) is dropped. */
  maxBufferedBytes?: number;
  /** A client with more live events held back during its replay or bootstrap than this is dropped. */
  maxPendingEvents?: number;
}

/** The default of `maxBufferedBytes`: 8 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
