// Adds a sync's job graph from a worker thread, so building it does not stall the runner's event loop.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CatalogFlowJob } from '@wa-sync/shared/contracts';
import { CatalogFlow, type Logger } from '@wa-sync/shared/runtime';

/** What sync-start needs to add a graph and look at it again on a retry. */
export type GraphFlow = Pick<CatalogFlow, 'getJob' | 'promote' | 'close'> & {
  add(root: CatalogFlowJob): Promise<unknown>;
  addBulk(roots: CatalogFlowJob[]): Promise<unknown>;
};

export type GraphRequest = { id: number; op: 'add' | 'addBulk'; roots: unknown[] } | { op: 'close' };
export type GraphReply = { id: number; ok: true } | { id: number; ok: false; message: string };

// Node runs the thread's compiled file; from the sources (ts-jest), the built one in dist.
const THREAD_FILE = __filename.endsWith('.ts') ? join(__dirname, '..', 'dist', 'graph-writer.thread.js') : join(__dirname, 'graph-writer.thread.js');
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * A {@link GraphFlow} whose adds run in a worker thread with its own Redis connection. BullMQ turns
 * each job of an add into Redis commands synchronously, about 0.17 ms of CPU per job here: on the
 * runner's event loop, a 2,000-chat graph (4,000 jobs) held back every fetch worker's hand-offs
 * and phone calls while it went in, and the first fetches started late. The thread takes that
 * work to the other core. Reads (a retry's earlier finalize job, the gate's promotion) are rare
 * and stay on the main thread.
 *
 * A thread that dies fails the adds in flight (sync-start retries; its job ids make the retry
 * idempotent) and is started again on the next add.
 */
export class ThreadedGraphFlow implements GraphFlow {
  private thread: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly reads: CatalogFlow;
  private closed = false;

  constructor(
    private readonly redisUrl: string,
    readRedis: ConstructorParameters<typeof CatalogFlow>[0]['connection'],
    private readonly logger: Logger,
  ) {
    this.reads = new CatalogFlow({ connection: readRedis });
    // Started now, not on the first sync: loading BullMQ in the thread takes tens of ms.
    this.start();
  }

  add(root: CatalogFlowJob): Promise<void> {
    return this.send('add', [root]);
  }

  addBulk(roots: CatalogFlowJob[]): Promise<void> {
    return this.send('addBulk', roots);
  }

  getJob(...args: Parameters<CatalogFlow['getJob']>): ReturnType<CatalogFlow['getJob']> {
    return this.reads.getJob(...args);
  }

  promote(...args: Parameters<CatalogFlow['promote']>): ReturnType<CatalogFlow['promote']> {
    return this.reads.promote(...args);
  }

  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    if (thread) {
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage({ op: 'close' } satisfies GraphRequest);
      const timer = setTimeout(() => void thread.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await this.reads.close();
  }

  private send(op: 'add' | 'addBulk', roots: CatalogFlowJob[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('graph writer closed'));
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      thread.postMessage({ id, op, roots } satisfies GraphRequest);
    });
  }

  private start(): Worker {
    const thread = new Worker(THREAD_FILE, { workerData: { redisUrl: this.redisUrl } });
    this.thread = thread;
    thread.on('message', (reply: GraphReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve();
      else waiter.reject(new Error(reply.message));
    });
    thread.on('error', (err) => this.logger.error({ err }, 'graph writer thread failed'));
    thread.on('exit', (code) => {
      if (this.thread === thread) this.thread = null;
      if (!this.closed) this.logger.warn({ code }, 'graph writer thread exited; the next add starts another');
      for (const waiter of this.pending.values()) waiter.reject(new Error(`graph writer thread exited (${code})`));
      this.pending.clear();
    });
    // The thread must not keep a stopping runner alive.
    thread.unref();
    return thread;
  }
}
