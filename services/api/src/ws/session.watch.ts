import { type BusEnvelope, type ServerEventName, type ServerEvents, type Session, type SessionStatusUpdate, sessionOwners } from '@wa-sync/shared/contracts';
import type { Logger, Redis } from '@wa-sync/shared/runtime';
import type { Store } from '@wa-sync/shared/store';
import type { WebSocket } from 'ws';

type Send = <E extends ServerEventName>(socket: WebSocket, event: E, data: ServerEvents[E]) => void;

/** Events after which a session's row says something new: its status, or its last sync (`session_ready`). */
const CHANGES = new Set(['status', 'session_ready']);

/**
 * WS `watch-sessions` (operator only): the sockets that follow every session. The list first, then
 * `session:status` on each status change or finished sync of any session (every API process sees
 * every event on the bus), `session:removed` for a session the store no longer has. Updates of one
 * session go out in the order of its events (a chain per session), each read fresh from the store
 * and the leases, so a client never sees an older state after a newer one.
 */
export class SessionWatch {
  private readonly sockets = new Set<WebSocket>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: { store: Store; redis: Redis; logger: Logger },
    private readonly send: Send,
  ) {}

  get size(): number {
    return this.sockets.size;
  }

  /** Adds the socket, then sends it the current list (changes from now on follow it). */
  async add(socket: WebSocket): Promise<void> {
    this.sockets.add(socket);
    const sessions = await this.deps.store.listSessions();
    const owners = await sessionOwners(this.deps.redis, sessions.map((s) => s.sessionId));
    this.send(socket, 'sessions', { sessions: sessions.map((s, i) => update(s, owners[i])) });
  }

  remove(socket: WebSocket): void {
    this.sockets.delete(socket);
  }

  /** Every bus event of this process goes through here; only status changes and finished syncs matter. */
  onEvent(envelope: BusEnvelope): void {
    if (this.sockets.size === 0 || !CHANGES.has(envelope.event)) return;
    const { sessionId } = envelope;
    const next = (this.chains.get(sessionId) ?? Promise.resolve())
      .then(() => this.publish(sessionId, envelope))
      .catch((err) => this.deps.logger.warn({ sessionId, err: (err as Error).message }, 'session watch update failed'));
    this.chains.set(sessionId, next);
    void next.then(() => {
      if (this.chains.get(sessionId) === next) this.chains.delete(sessionId);
    });
  }

  private async publish(sessionId: string, envelope: BusEnvelope): Promise<void> {
    const [session, [owner]] = await Promise.all([this.deps.store.getSession(sessionId), sessionOwners(this.deps.redis, [sessionId])]);
    const row = session && update(session, owner);
    // A status event is the session's own word, in log order: its status and detail go out as
    // they are, so a watcher and a client joined to the session never disagree about them.
    if (row && envelope.event === 'status') {
      const { status, detail } = envelope.data as { status: SessionStatusUpdate['status']; detail: string | null };
      Object.assign(row, { status, detail });
    }
    for (const socket of this.sockets) {
      if (row) this.send(socket, 'session:status', row);
      else this.send(socket, 'session:removed', { sessionId });
    }
  }
}

function update(session: Session, runnerId: string | null): SessionStatusUpdate {
  return { sessionId: session.sessionId, status: session.status, detail: session.statusDetail, runnerId, lastSync: session.lastSync };
}
