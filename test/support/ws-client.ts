import WebSocket from 'ws';
import type { ServerEventName, ServerEvents } from '@wa-sync/shared/contracts';
import { waitFor } from './wait-for';

export interface Frame<E extends ServerEventName = ServerEventName> {
  event: E;
  data: ServerEvents[E];
  /** The event-log id, on logged events. */
  id?: string;
}

/** A WebSocket client that records every frame, as a frontend would see them. */
export class WsClient {
  readonly frames: Frame[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => this.frames.push(JSON.parse(raw.toString()) as Frame));
  }

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<WsClient> {
    const socket = new WebSocket(url, options);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new WsClient(socket);
  }

  send(event: string, data?: unknown): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  sendRaw(raw: string): void {
    this.socket.send(raw);
  }

  of<E extends ServerEventName>(event: E): ServerEvents[E][] {
    return this.frames.filter((f) => f.event === event).map((f) => f.data as ServerEvents[E]);
  }

  async waitFor<E extends ServerEventName>(event: E, match: (d: ServerEvents[E]) => boolean = () => true, timeoutMs = 60_000): Promise<ServerEvents[E]> {
    return waitFor(`a ${event} frame`, () => this.of(event).find(match), timeoutMs, () => `got ${this.frames.map((f) => f.event).join(', ')}`);
  }

  close(): void {
    this.socket.close();
  }
}
