import type { BusEnvelope, ServerEventName, ServerEvents, SyncSnapshot } from '@wa-sync/shared';
import type { WebSocket } from 'ws';

interface Client {
  socket: WebSocket;
  sessions: Set<string>;
  /** Highest `currentChat` sent per syncId: a client never sees it go down (invariant 3). */
  sentCurrentChat: Map<string, number>;
}

/**
 * Which sockets joined which session, and delivery of session events to them. Rooms live in
 * this process; every API process subscribes to the event bus and serves its own sockets.
 */
export class SocketHub {
  private readonly clients = new Map<WebSocket, Client>();
  private readonly rooms = new Map<string, Set<Client>>();

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    this.clients.set(socket, { socket, sessions: new Set(), sentCurrentChat: new Map() });
  }

  remove(socket: WebSocket): void {
    const client = this.clients.get(socket);
    if (!client) return;
    for (const sessionId of client.sessions) this.leave(socket, sessionId);
    this.clients.delete(socket);
  }

  join(socket: WebSocket, sessionId: string): void {
    const client = this.clients.get(socket);
    if (!client) return;
    client.sessions.add(sessionId);
    let room = this.rooms.get(sessionId);
    if (!room) this.rooms.set(sessionId, (room = new Set()));
    room.add(client);
  }

  leave(socket: WebSocket, sessionId: string): void {
    const client = this.clients.get(socket);
    if (!client) return;
    client.sessions.delete(sessionId);
    const room = this.rooms.get(sessionId);
    room?.delete(client);
    if (room?.size === 0) this.rooms.delete(sessionId);
  }

  /** Sends to one socket; a `sync_chats` older than what it has seen is dropped. */
  send<E extends ServerEventName>(socket: WebSocket, event: E, data: ServerEvents[E], id?: string): void {
    const client = this.clients.get(socket);
    if (!client || socket.readyState !== socket.OPEN) return;
    if (event === 'sync_chats' && !this.advances(client, data as SyncSnapshot)) return;
    if (event === 'joined') this.advances(client, (data as ServerEvents['joined']).sync);
    socket.send(JSON.stringify(id ? { event, data, id } : { event, data }));
  }

  /** Delivers a bus event to every socket that joined its session. */
  dispatch(envelope: BusEnvelope): void {
    const room = this.rooms.get(envelope.sessionId);
    if (!room) return;
    for (const client of room) this.send(client.socket, envelope.event, envelope.data, envelope.id);
  }

  private advances(client: Client, sync: SyncSnapshot | null): boolean {
    if (!sync) return true;
    const sent = client.sentCurrentChat.get(sync.syncId);
    if (sent !== undefined && sync.currentChat <= sent) return false;
    client.sentCurrentChat.set(sync.syncId, sync.currentChat);
    return true;
  }
}
