import { FlowProducer, type Job, Queue, type QueueBaseOptions, type QueueOptions } from 'bullmq';
import type { CatalogFlowJob, CatalogQueueOf, InspectQueue } from './job.producer';
import type { CatalogQueue } from './job.catalog';
import { isRedisConnectionError } from './process.health';
import { SESSION_QUEUE_PREFIX } from './queue.names';

/**
 * BullMQ keeps a queue's events stream at 10,000 entries by default. Nothing reads a session
 * queue's events (no QueueEvents), and there is a queue per session: an idle session would keep
 * its whole first sync's events in Redis for good. Every opener passes the same value, since the
 * last Queue to start writes it into the queue's meta.
 */
const SESSION_QUEUE_EVENTS_MAXLEN = 100;

/** The options every opener of the queue `name` uses (BullMQ stores some of them in the queue's meta). */
export function queueOptions<O extends QueueBaseOptions>(name: string, opts: O): O & QueueOptions {
  const timed = timesCommandsOut(opts.connection) ? { skipVersionCheck: true } : {};
  return name.startsWith(SESSION_QUEUE_PREFIX) ? { ...opts, ...timed, streams: { events: { maxLen: SESSION_QUEUE_EVENTS_MAXLEN } } } : { ...opts, ...timed };
}

/**
 * BullMQ checks the server's version once per queue (an INFO) and keeps that promise: on a
 * connection with a commandTimeout (the API's), one stall longer than it at the queue's start made
 * every later call fail with "Command timed out" for the life of the process. Such queues skip
 * the check; the runner's and the sync workers' workers (no command timeout) still make it.
 */
function timesCommandsOut(connection: QueueBaseOptions['connection'] | undefined): boolean {
  const options = (connection as { options?: { commandTimeout?: number } } | undefined)?.options;
  return typeof options?.commandTimeout === 'number' && options.commandTimeout > 0;
}

/**
 * Every queue gets an error listener: without one BullMQ prints each failed reconnect of an outage
 * (one a second). A lost connection is the process's health line (ProcessHealth); others print.
 */
function quiet<T extends { on(event: 'error', listener: (err: Error) => void): unknown }>(emitter: T): T {
  emitter.on('error', (err: Error) => {
    if (!isRedisConnectionError(err)) process.stderr.write(`BullMQ: ${err.stack ?? err.message}\n`);
  });
  return emitter;
}

/**
 * The only places the services open BullMQ queues. A queue opened for a catalog takes only that
 * catalog's job names (`add('no-such-job', …)` does not compile); add through `JobProducer`, which
 * also ties each name to its payload and parses it. A queue opened to look at or clean up
 * (counts, Bull Board, obliterate) takes no job at all.
 */
export function openCatalogQueue<Q extends CatalogQueue>(_catalog: Q, name: string, opts: QueueOptions): CatalogQueueOf<Q> {
  return quiet(new Queue(name, queueOptions(name, opts))) as unknown as CatalogQueueOf<Q>;
}

export function openInspectQueue(name: string, opts: QueueOptions): InspectQueue {
  return quiet(new Queue(name, queueOptions(name, opts))) as unknown as InspectQueue;
}

/** A FlowProducer that takes only trees built by `flowJob`, so every node was typed and parsed. */
export class CatalogFlow {
  private readonly flow: FlowProducer;
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly opts: QueueBaseOptions) {
    this.flow = quiet(new FlowProducer(opts));
  }

  add(root: CatalogFlowJob): ReturnType<FlowProducer['add']> {
    return this.flow.add(root);
  }

  /** Several trees in one round trip; a root may name an existing parent (`opts.parent`). */
  addBulk(roots: CatalogFlowJob[]): ReturnType<FlowProducer['addBulk']> {
    return this.flow.addBulk(roots);
  }

  /**
   * Moves a delayed job (a flow's gate) to wait now. False when it is not delayed any more: a
   * retry released it before, or it ran and was removed.
   */
  async promote(queueName: string, jobId: string): Promise<boolean> {
    const job = await this.getJob(queueName, jobId);
    if (!job || !(await job.isDelayed())) return false;
    await job.promote();
    return true;
  }

  /** A job a flow added earlier (e.g. by a sync-start attempt that died), to read its data. */
  getJob(queueName: string, jobId: string): Promise<Job | undefined> {
    let queue = this.queues.get(queueName);
    if (!queue) this.queues.set(queueName, (queue = quiet(new Queue(queueName, queueOptions(queueName, this.opts)))));
    return queue.getJob(jobId);
  }

  async close(): Promise<void> {
    await Promise.all([this.flow.close(), ...[...this.queues.values()].map((q) => q.close())]);
  }
}
