import type { ServerResponse } from 'node:http';
import { type BusEnvelope } from '@wa-sync/shared/contracts';
import { sseFrameOf } from '../ws/frame.cache';
import { ReplayGate } from '../ws/replay.gate';
import { DEFAULT_MAX_BUFFERED_BYTES, type StreamHubOptions, TurnBatch } from '../ws/turn.batch';

export interface SseClient {
  readonly sessionId: string;
  readonly res: ServerResponse;
  /** Holds live events while the bootstrap or the replay is written, then settles (see ReplayGate); null once open. */
  gate: ReplayGate | null;
  closed: boolean;
  /** Frames queued this event-loop turn (see TurnBatch). */
  outbox: Buffer[] | null;
}

export type SseHubOptions = StreamHubOptions;

const DEFAULT_MAX_PENDING = 20_000;
export const SSE_HEARTBEAT_MS = 15_000;
const HEARTBEAT = Buffer.from(': heartbeat\n\n');
const CRLF = Buffer.from('\r\n');

/**
 * A turn's frames as one HTTP/1.1 chunk (`<hex length>\r\n<frames>\r\n`), the framing Node's
 * response would add per write: built once per turn and shared by every stream that got the
 * same frames, then written straight to the TCP socket.
 */
function httpChunk(frames: Buffer[]): Buffer {
  let length = 0;
  for (const frame of frames) length += frame.length;
  return Buffer.concat([Buffer.from(`${length.toString(16)}\r\n`), ...frames, CRLF]);
}

/**
 * The open Server-Sent Events streams of this API process, by session. A logged event is
 * formatted once and written to every stream of its session; streams that are still
 * bootstrapping hold it back until they are released.
 */
export class SseHub {
  private readonly rooms = new Map<string, Set<SseClient>>();
  private timer: NodeJS.Timeout | null = null;
  private count = 0;
  private readonly batch = new TurnBatch<SseClient>((client, chunk) => this.flushTo(client, chunk), httpChunk);

  constructor(private readonly options: SseHubOptions = {}) {}

  get size(): number {
    return this.count;
  }

  /** Registers a stream, holding live events back until `release`. */
  add(sessionId: string, res: ServerResponse): SseClient {
    const client: SseClient = { sessionId, res, gate: new ReplayGate(), closed: false, outbox: null };
    let room = this.rooms.get(sessionId);
    if (!room) this.rooms.set(sessionId, (room = new Set()));
    room.add(client);
    this.count++;
    return client;
  }

  remove(client: SseClient): void {
    if (client.closed) return;
    client.closed = true;
    client.gate = null;
    const room = this.rooms.get(client.sessionId);
    if (room?.delete(client)) this.count--;
    if (room?.size === 0) this.rooms.delete(client.sessionId);
  }

  /** Writes the held-back events newer than `through` (what the stream already carried), then goes live. */
  release(client: SseClient, through: string | null): void {
    const gate = client.gate;
    if (!gate?.replaying || client.closed) return;
    const held = gate.release(through);
    if (gate.open) client.gate = null;
    for (const envelope of held) this.write(client, sseFrameOf(envelope));
  }

  /** Sessions some stream of this process listens to. */
  sessions(): Iterable<string> {
    return this.rooms.keys();
  }

  /** Writes an event to every stream of its session, except those whose replay already carried it. */
  dispatch(envelope: BusEnvelope): void {
    const room = this.rooms.get(envelope.sessionId);
    if (!room) return;
    for (const client of room) {
      const gate = client.gate;
      if (gate) {
        const max = this.options.maxPendingEvents ?? DEFAULT_MAX_PENDING;
        const admission = gate.admit(envelope, max);
        if (admission === 'overflow') this.drop(client, `more than ${max} live events arrived during its bootstrap`);
        if (admission !== 'deliver') continue;
        if (gate.open) client.gate = null;
      }
      this.write(client, sseFrameOf(envelope));
    }
  }

  /**
   * Queues a frame for the end of this event-loop turn, after what was queued before it; then
   * one write per stream carries the turn's frames.
   */
  write(client: SseClient, chunk: string | Buffer): void {
    if (client.closed) return;
    this.batch.enqueue(client, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  /**
   * Writes a turn's frames unless the client is too far behind, in which case it is dropped (it
   * resumes with Last-Event-ID). A chunked response (HTTP/1.1, always here: no content-length)
   * gets the prebuilt chunk straight on its socket, without the response's per-write work;
   * anything else goes through `res.write` with the frames alone.
   */
  private flushTo(client: SseClient, chunk: Buffer): void {
    if (client.closed) return;
    const { res } = client;
    const max = this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (res.writableLength > max) return this.drop(client, `more than ${max} bytes queued`);
    const socket = res.socket;
    if (res.chunkedEncoding && res.headersSent && socket && !socket.destroyed) {
      socket.write(chunk);
    } else if (!res.chunkedEncoding) {
      res.write(chunk);
    } else {
      // Chunked but no socket yet: strip our framing and let the response frame it.
      const start = chunk.indexOf(CRLF) + 2;
      res.write(chunk.subarray(start, chunk.length - 2));
    }
  }

  /** One timer for every stream: a comment line keeps proxies from closing idle streams. */
  startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    this.timer = setInterval(() => {
      for (const room of this.rooms.values()) for (const client of room) this.write(client, HEARTBEAT);
    }, intervalMs);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Ends every stream (shutdown): EventSource clients reconnect, to another process if need be. */
  closeAll(): void {
    this.stopHeartbeat();
    // What this turn queued goes out before the end of each stream.
    this.batch.flush();
    for (const room of [...this.rooms.values()]) {
      for (const client of [...room]) {
        this.remove(client);
        client.res.end();
      }
    }
  }

  private drop(client: SseClient, reason: string): void {
    this.options.logger?.warn({ sessionId: client.sessionId, reason }, 'event stream too slow: dropped');
    this.remove(client);
    // Its socket buffer is full: ending would wait for a reader that is not there.
    client.res.destroy();
  }
}
