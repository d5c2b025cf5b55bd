import type { Logger } from '@wa-sync/shared/runtime';
import type { Store } from '@wa-sync/shared/store';
import type { Principal } from './access.policy';

type TokenPrincipal = Extract<Principal, { kind: 'token' }>;
export type StreamEndReason = 'token_expired' | 'token_revoked';

interface Watched {
  principal: TokenPrincipal;
  close(reason: StreamEndReason): void;
}

/** Open streams are checked this often: a revoked or expired token's stream ends within about this long. */
export const STREAM_ACCESS_CHECK_MS = 1_000;

/**
 * The open WebSockets and SSE streams of this process that a session token opened. Every second
 * each is checked against its expiry and its session's revocation epoch in the store (one read per
 * session, however many streams it has), and closed when its token no longer holds. The epoch
 * lives in the store, so a revocation made through any API process closes the streams of all.
 */
export class StreamAccessWatch {
  private readonly watched = new Map<object, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly store: Pick<Store, 'getTokenEpoch'>,
    private readonly logger: Logger,
    private readonly intervalMs = STREAM_ACCESS_CHECK_MS,
  ) {}

  get size(): number {
    return this.watched.size;
  }

  /** Watches a stream opened by `principal` (operators are not watched); returns the call that stops it. */
  track(stream: object, principal: Principal | null | undefined, close: (reason: StreamEndReason) => void): () => void {
    if (principal?.kind !== 'token') return () => undefined;
    this.watched.set(stream, { principal, close });
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref();
    return () => this.untrack(stream);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watched.clear();
  }

  /** One pass: expired tokens first (no I/O), then one epoch read per session still watched. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = Date.now() / 1000;
      const bySession = new Map<string, [object, Watched][]>();
      for (const [stream, w] of this.watched) {
        if (w.principal.exp <= now) {
          this.end(stream, w, 'token_expired');
          continue;
        }
        const list = bySession.get(w.principal.sessionId);
        if (list) list.push([stream, w]);
        else bySession.set(w.principal.sessionId, [[stream, w]]);
      }
      await Promise.all(
        [...bySession].map(async ([sessionId, streams]) => {
          let epoch: number;
          try {
            epoch = await this.store.getTokenEpoch(sessionId);
          } catch (err) {
            // The store is away: keep the streams, look again on the next pass.
            this.logger.debug({ sessionId, err: (err as Error).message }, 'stream access: epoch unreadable');
            return;
          }
          for (const [stream, w] of streams) if (epoch > w.principal.epoch) this.end(stream, w, 'token_revoked');
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  private end(stream: object, w: Watched, reason: StreamEndReason): void {
    this.untrack(stream);
    this.logger.info({ sessionId: w.principal.sessionId, reason }, 'stream closed: its token no longer holds');
    try {
      w.close(reason);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'stream access: close failed');
    }
  }

  private untrack(stream: object): void {
    this.watched.delete(stream);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
