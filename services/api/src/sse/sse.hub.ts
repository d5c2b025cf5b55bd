import type { ServerResponse } from 'node:http';
import { type BusEnvelope } from '@wa-sync/shared/contracts';
import { sseFrameOf } from '../stream/frame.cache';
import { DEFAULT_MAX_PENDING, Rooms } from '../stream/room.dispatch';
import { DEFAULT_MAX_BUFFERED_BYTES, type StreamHubOptions, TurnBatch } from '../stream/turn.batch';

export interface SseClient {
  readonly sessionId: string;
  readonly res: ServerResponse;
  closed: boolean;
  /** Frames queued this event-loop turn (see TurnBatch). */
  outbox: Buffer[] | null;
}

export type SseHubOptions = StreamHubOptions;

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
  private readonly clients = new Set<SseClient>();
  private readonly rooms = new Rooms<SseClient>(
    { deliver: (client, envelope) => this.write(client, sseFrameOf(envelope)), drop: (client, reason) => this.drop(client, reason) },
    () => this.options.maxPendingEvents ?? DEFAULT_MAX_PENDING,
  );
  private timer: NodeJS.Timeout | null = null;
  private readonly batch = new TurnBatch<SseClient>((client, chunk) => this.flushTo(client, chunk), httpChunk);

  constructor(private readonly options: SseHubOptions = {}) {}

  get size(): number {
    return this.clients.size;
  }

  /** Registers a stream, holding live events back until `release`. */
  add(sessionId: string, res: ServerResponse): SseClient {
    const client: SseClient = { sessionId, res, closed: false, outbox: null };
    this.clients.add(client);
    this.rooms.join(sessionId, client, true);
    return client;
  }

  remove(client: SseClient): void {
    if (client.closed) return;
    client.closed = true;
    this.clients.delete(client);
    this.rooms.leave(client.sessionId, client);
  }

  /** Writes the held-back events newer than `through` (what the stream already carried), then goes live. */
  release(client: SseClient, through: string | null): void {
    if (!client.closed) this.rooms.release(client.sessionId, client, through);
  }

  /** Sessions some stream of this process listens to. */
  sessions(): Iterable<string> {
    return this.rooms.sessions();
  }

  /** Writes an event to every stream of its session, except those whose replay already carried it. */
  dispatch(envelope: BusEnvelope): void {
    this.rooms.dispatch(envelope);
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
      for (const client of this.clients) this.write(client, HEARTBEAT);
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
    for (const client of [...this.clients]) {
      this.remove(client);
      client.res.end();
    }
  }

  private drop(client: SseClient, reason: string): void {
    this.options.logger?.warn({ sessionId: client.sessionId, reason }, 'event stream too slow: dropped');
    this.remove(client);
    // Its socket buffer is full: ending would wait for a reader that is not there.
    client.res.destroy();
  }
}
