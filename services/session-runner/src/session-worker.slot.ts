// A session's queue worker that exists only while the session has work. An open BullMQ Worker costs
// even when idle (a blocking connection re-polling every drainDelay, a stalled-check timer), so a
// ready session whose queue stayed empty for a grace period closes its worker; the runner-wide
// IdleWorkers watch reopens it when a job lands (marker key, see session-queue.idle.ts).
import type { CatalogWorker, Redis } from '@wa-sync/shared/runtime';
import { closeIfQueueEmpty } from './session-queue.idle';

type Worker = CatalogWorker<'session'>;

/** An open worker silent this long has its queue looked at, whatever BullMQ's events said. */
export const QUIET_CHECK_MS = 30_000;

/**
 * Same face as the Worker it replaces (pause, resume, close, isPaused, isRunning). Every open or
 * close runs in one chain, so an idle close, a wake, a pause and the final close never interleave.
 */
export class SessionWorkerSlot {
  private worker: Worker | null = null;
  /** Paused until the first `ready` (jobs wait for the client) and while a dropped client reconnects. */
  private paused = true;
  private ended = false;
  /** An idle close is under way: neither open nor idle yet, so the watch leaves it alone. */
  private closing = false;
  /** When the worker last found its queue empty with no job taken since; null while it has work. */
  private drainedAt: number | null = null;
  /** When the worker last emitted anything (a job taken, finished, or the queue found empty). */
  private lastEventAt = 0;
  /** Since when the worker is closed for idleness, or when its finished jobs were last swept. */
  private idleSince: number | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sessionId: string,
    private readonly create: () => Worker,
    private readonly redis: Redis,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Open and running, or closed for idleness and waiting to be woken (never when paused or ended). */
  get state(): 'open' | 'idle' | 'paused' | 'ended' | 'closing' {
    if (this.ended) return 'ended';
    if (this.paused) return 'paused';
    if (this.closing) return 'closing';
    return this.worker ? 'open' : 'idle';
  }

  isPaused(): boolean {
    return this.paused;
  }

  isRunning(): boolean {
    return !!this.worker?.isRunning();
  }

  /** Opens the worker (a new one after an idle close) and lets it take jobs. */
  resume(): Promise<void> {
    this.paused = false;
    return this.run(() => this.open());
  }

  /** Jobs wait for the new client; a closed worker stays closed. */
  pause(doNotWaitActive?: boolean): Promise<void> {
    this.paused = true;
    return this.run(async () => {
      if (this.worker) await this.worker.pause(doNotWaitActive);
    });
  }

  /** For good (release, stop, shutdown). Not chained behind a slow idle close: force must be quick. */
  async close(force?: boolean): Promise<void> {
    this.ended = true;
    const worker = this.worker;
    // open() refuses once ended, so no worker can appear after these two settle.
    await Promise.all([worker?.close(force), this.chain]);
  }

  /** The watch saw a job land in the idle session's queue. */
  wake(): Promise<void> {
    return this.run(() => this.open());
  }

  /**
   * True when the worker has been closed for idleness for `everyMs` since it closed or since its
   * queue's finished jobs were last swept ({@link swept}).
   */
  sweepDue(now: number, everyMs: number): boolean {
    return this.state === 'idle' && this.idleSince !== null && now - this.idleSince >= everyMs;
  }

  /** The watch swept the queue's finished jobs: the next sweep is due `everyMs` from now. */
  swept(now: number): void {
    if (this.state === 'idle') this.idleSince = now;
  }

  /**
   * True when the worker has found nothing to take for at least `graceMs`, or has been silent for
   * `QUIET_CHECK_MS` (then the queue itself is looked at: closeIdle closes only an empty one).
   * BullMQ emits `drained` once per run of empty fetches, and with several jobs in flight it can come
   * before the `active` of a job fetched just earlier: that job's end then brings no new `drained`,
   * and a worker waiting for it alone stayed open for good (seen under load in idle-sessions).
   */
  drainedFor(now: number, graceMs: number): boolean {
    if (this.state !== 'open') return false;
    if (this.drainedAt !== null) return now - this.drainedAt >= graceMs;
    return now - this.lastEventAt >= QUIET_CHECK_MS;
  }

  /**
   * Closes an open worker whose queue is empty (nothing waiting, active, delayed or prioritized).
   * Checked again after the close, atomically with clearing the marker: a job added meanwhile, or
   * whose marker the closing worker consumed, reopens it at once instead of waiting unseen.
   */
  closeIdle(): Promise<void> {
    return this.run(async () => {
      const worker = this.worker;
      if (!worker || this.paused || this.ended) return;
      if (!(await closeIfQueueEmpty(this.redis, this.sessionId, { clearMarker: false }))) {
        // A job of its own still active, or a delayed one: look again when the next job ends, or
        // after QUIET_CHECK_MS of silence.
        this.drainedAt = null;
        this.lastEventAt = Date.now();
        return;
      }
      this.worker = null;
      this.closing = true;
      try {
        await worker.close();
        // Unsure (Redis away) counts as not empty: better a worker open for nothing than a job unseen.
        const empty = await closeIfQueueEmpty(this.redis, this.sessionId, { clearMarker: true }).catch(() => false);
        if (!empty) await this.open();
        else this.idleSince = Date.now();
      } finally {
        this.closing = false;
      }
    });
  }

  private async open(): Promise<void> {
    if (this.paused || this.ended) return;
    if (this.worker) {
      if (this.worker.isPaused() || !this.worker.isRunning()) await this.worker.resume();
      return;
    }
    const worker = this.create();
    this.worker = worker;
    this.drainedAt = null;
    this.idleSince = null;
    this.lastEventAt = Date.now();
    // The queue found empty, or a job's end, starts the grace period unless one is running: the
    // `drained` BullMQ emitted may have come before the last job's `active` (see drainedFor).
    const quiet = () => {
      if (this.worker !== worker) return;
      this.lastEventAt = Date.now();
      if (this.drainedAt === null) this.drainedAt = this.lastEventAt;
    };
    worker.on('drained', quiet);
    worker.on('completed', quiet);
    worker.on('failed', quiet);
    worker.on('active', () => {
      if (this.worker !== worker) return;
      this.lastEventAt = Date.now();
      this.drainedAt = null;
    });
    // Not awaited: run() lasts until the close. It starts with a stalled check, so the jobs a
    // killed runner left active are found as soon as a new owner's worker opens.
    worker.run().catch((err: Error) => this.onError(err));
  }

  private run(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op, op);
    this.chain = next.catch((err: Error) => this.onError(err));
    return next;
  }
}
