import type { ClientEventName, ClientEvents, ServerEventName, ServerEvents } from '@wa-sync/shared/contracts';

/** A server frame: `{ event, data }`, plus the log `id` on logged session events. */
export type Frame = { [E in ServerEventName]: { event: E; data: ServerEvents[E]; id?: string } }[ServerEventName];

export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

const BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000, 15_000];

/**
 * The dashboard's one WebSocket. It re-joins every session after a reconnect with `since` = the
 * last log id it saw for that session, so the server replays what happened while it was away.
 */
export class LiveSocket {
  private ws?: WebSocket;
  private readonly joined = new Set<string>();
  private readonly lastId = new Map<string, string>();
  /** Sessions re-joined with `since`, until their `joined` answer. */
  private readonly resuming = new Set<string>();
  private attempt = 0;
  private timer?: number;
  private stopped = true;

  constructor(
    private readonly token: () => string,
    /** `rejoined`: a `joined` that answers a re-join with `since` (after a lost connection). */
    private readonly onFrame: (frame: Frame, rejoined: boolean) => void,
    private readonly onState: (state: SocketState, attempt: number) => void,
  ) {}

  connect(): void {
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** Closes for good (a new key: the caller connects again). */
  close(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, 'bye');
    this.ws = undefined;
    this.onState('closed', 0);
  }

  join(sessionId: string): void {
    this.joined.add(sessionId);
    this.sendJoin(sessionId);
  }

  /** The last log id seen for a session (for tests and the status line). */
  lastEventId(sessionId: string): string | undefined {
    return this.lastId.get(sessionId);
  }

  private open(): void {
    const token = this.token();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    this.onState(this.attempt === 0 ? 'connecting' : 'reconnecting', this.attempt);
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState('open', 0);
      for (const id of this.joined) this.sendJoin(id);
      // Every session's status, live (operator key; a token gets a `forbidden` and polls instead).
      this.send('watch-sessions', {});
    };
    ws.onmessage = (msg) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(msg.data)) as Frame;
      } catch {
        return;
      }
      const sessionId = (frame.data as { sessionId?: unknown } | null)?.sessionId;
      if (frame.id && typeof sessionId === 'string') this.lastId.set(sessionId, frame.id);
      const rejoined = frame.event === 'joined' && this.resuming.delete(frame.data.sessionId);
      this.onFrame(frame, rejoined);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      // 4401: the token expired or was revoked; reconnecting with it cannot work.
      if (ev.code === 4401) {
        this.ws = undefined;
        this.stopped = true;
        this.onState('closed', 0);
        return;
      }
      this.ws = undefined;
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt++;
      this.onState('reconnecting', this.attempt);
      this.timer = window.setTimeout(() => this.open(), delay);
    };
  }

  private sendJoin(sessionId: string): void {
    const since = this.lastId.get(sessionId);
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (since) this.resuming.add(sessionId);
    this.send('join-session', since ? { sessionId, since } : { sessionId });
  }

  private send<E extends ClientEventName>(event: E, data: ClientEvents[E]): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event, data }));
  }
}
