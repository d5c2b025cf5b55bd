import { type BusEnvelope, type ServerEventName, type ServerEvents, type SyncSnapshot } from '@wa-sync/shared/contracts';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { frameOf } from '../stream/frame.cache';
import { DEFAULT_MAX_PENDING, Rooms } from '../stream/room.dispatch';
import { DEFAULT_MAX_BUFFERED_BYTES, type StreamHubOptions, TurnBatch } from '../stream/turn.batch';
import { wsTextFrame } from '../stream/ws.frame';

interface Client {
  socket: WebSocket;
  sessions: Set<string>;
  /** Highest `currentChat` sent per syncId: a client never sees it go down (invariant 3). */
  sentCurrentChat: Map<string, number>;
  /** Pings sent since the last pong. */
  missedPongs: number;
  /** Frames queued this event-loop turn (see TurnBatch). */
  outbox: Buffer[] | null;
  /** Removed from the hub: frames still queued for it are not written. */
  gone: boolean;
}

export type SocketHubOptions = StreamHubOptions;

/**
 * Which sockets joined which session, and delivery of session events to them. Rooms live in
 * this process; every API process subscribes to the event bus and serves its own sockets.
 * A logged event is serialized once, whatever the number of sockets it goes to.
 */
export class SocketHub {
  private readonly clients = new Map<WebSocket, Client>();
  private options: SocketHubOptions;
  private readonly rooms = new Rooms<Client>(
    { deliver: (client, envelope) => this.deliver(client, envelope), drop: (client, reason) => this.drop(client, reason) },
    () => this.options.maxPendingEvents ?? DEFAULT_MAX_PENDING,
  );
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly batch = new TurnBatch<Client>(
    (client, chunk) => this.flushTo(client, chunk),
    (frames) => (frames.length === 1 ? frames[0] : Buffer.concat(frames)),
  );

  constructor(options: SocketHubOptions = {}) {
    this.options = options;
  }

  /** Fills in what the constructor was not given (the app passes its logger). */
  configure(options: SocketHubOptions): void {
    this.options = { ...options, ...this.options };
  }

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    const client: Client = { socket, sessions: new Set(), sentCurrentChat: new Map(), missedPongs: 0, outbox: null, gone: false };
    this.clients.set(socket, client);
    socket.on('pong', () => (client.missedPongs = 0));
  }

  remove(socket: WebSocket): void {
    const client = this.clients.get(socket);
    if (!client) return;
    for (const sessionId of client.sessions) this.leave(socket, sessionId);
    this.clients.delete(socket);
    client.gone = true;
  }

  /**
   * Joins a room. With `hold`, live events of that session are kept back until `release`: the
   * caller reads the replay meanwhile, so nothing published in between is lost.
   */
  join(socket: WebSocket, sessionId: string, hold = false): void {
    const client = this.clients.get(socket);
    if (!client) return;
    client.sessions.add(sessionId);
    this.rooms.join(sessionId, client, hold);
  }

  /** Sends the held-back live events newer than `replayedThrough` (the replay's last id), then goes live. */
  release(socket: WebSocket, sessionId: string, replayedThrough: string | null): void {
    const client = this.clients.get(socket);
    if (client) this.rooms.release(sessionId, client, replayedThrough);
  }

  leave(socket: WebSocket, sessionId: string): void {
    const client = this.clients.get(socket);
    if (!client) return;
    client.sessions.delete(sessionId);
    this.rooms.leave(sessionId, client);
  }

  /** Sends to one socket; a `sync_chats` older than what it has seen is dropped. */
  send<E extends ServerEventName>(socket: WebSocket, event: E, data: ServerEvents[E], id?: string): void {
    const client = this.clients.get(socket);
    if (!client || socket.readyState !== socket.OPEN) return;
    if (event === 'sync_chats' && !this.advances(client, data as SyncSnapshot)) return;
    if (event === 'joined') this.advances(client, (data as ServerEvents['joined']).sync);
    this.write(client, wsTextFrame(Buffer.from(JSON.stringify(id ? { event, data, id } : { event, data }))));
  }

  /** Sessions some socket of this process joined. */
  sessions(): Iterable<string> {
    return this.rooms.sessions();
  }

  /**
   * Delivers a bus event to every socket that joined its session, except those whose replay
   * already carried it.
   */
  dispatch(envelope: BusEnvelope): void {
    this.rooms.dispatch(envelope);
  }

  /**
   * Pings every socket each `intervalMs`; one that missed two pongs in a row is terminated (a
   * peer that vanished without a close frame would otherwise hold its room forever).
   */
  startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => this.heartbeat(), intervalMs);
    this.pingTimer.unref();
  }

  stopHeartbeat(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private heartbeat(): void {
    for (const client of this.clients.values()) {
      if (client.missedPongs >= 2) {
        this.options.logger?.info({ sessions: [...client.sessions] }, 'websocket missed two pongs: dropped');
        client.socket.terminate();
        this.remove(client.socket);
        continue;
      }
      client.missedPongs++;
      if (client.socket.readyState === client.socket.OPEN) client.socket.ping();
    }
  }

  private deliver(client: Client, envelope: BusEnvelope): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (envelope.event === 'sync_chats' && !this.advances(client, envelope.data as SyncSnapshot)) return;
    this.write(client, frameOf(envelope));
  }

  /**
   * Queues a complete frame; it is written with the others of this turn, in order (everything a
   * client gets goes through here, so the order of events and replies is kept).
   */
  private write(client: Client, frame: Buffer): void {
    this.batch.enqueue(client, frame);
  }

  /**
   * Writes a turn's frames straight to the socket's TCP stream: one write per socket per turn,
   * none of ws's per-send framing. Safe because the server never compresses (no
   * permessage-deflate), so ws itself only ever writes whole control frames between ours.
   */
  private flushTo(client: Client, chunk: Buffer): void {
    const { socket } = client;
    if (client.gone || socket.readyState !== socket.OPEN) return;
    const max = this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (socket.bufferedAmount > max) return this.drop(client, `more than ${max} bytes queued`);
    const tcp = (socket as unknown as { _socket?: Socket })._socket;
    // An OPEN ws always has its TCP socket; a destroyed one is about to emit close.
    if (tcp && !tcp.destroyed) tcp.write(chunk);
  }

  /** A client that cannot keep up is closed (1013: try again later), so memory stays bounded; it resumes with `since`. */
  private drop(client: Client, reason: string): void {
    this.options.logger?.warn({ sessions: [...client.sessions], reason }, 'websocket too slow: dropped');
    this.remove(client.socket);
    client.socket.close(1013, 'too slow; reconnect and resume with since');
    // A peer that reads nothing would not answer the close handshake either.
    setTimeout(() => client.socket.terminate(), 1_000).unref();
  }

  private advances(client: Client, sync: SyncSnapshot | null): boolean {
    if (!sync) return true;
    const sent = client.sentCurrentChat.get(sync.syncId);
    if (sent !== undefined && sync.currentChat <= sent) return false;
    client.sentCurrentChat.set(sync.syncId, sync.currentChat);
    return true;
  }
}
