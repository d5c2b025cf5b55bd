import { FlowProducer, Queue, type QueueBaseOptions, type QueueOptions } from 'bullmq';
import type { CatalogFlowJob, CatalogQueueOf, InspectQueue } from './job.producer';
import type { CatalogQueue } from './job.catalog';

/**
 * The only places the services open BullMQ queues. A queue opened for a catalog takes only that
 * catalog's job names (`add('no-such-job', …)` does not compile); add through `JobProducer`, which
 * also ties each name to its payload and parses it. A queue opened to look at or clean up
 * (counts, Bull Board, obliterate) takes no job at all.
 */
export function openCatalogQueue<Q extends CatalogQueue>(_catalog: Q, name: string, opts: QueueOptions): CatalogQueueOf<Q> {
  return new Queue(name, opts) as unknown as CatalogQueueOf<Q>;
}

export function openInspectQueue(name: string, opts: QueueOptions): InspectQueue {
  return new Queue(name, opts) as unknown as InspectQueue;
}

/** A FlowProducer that takes only trees built by `flowJob`, so every node was typed and parsed. */
export class CatalogFlow {
  private readonly flow: FlowProducer;

  constructor(opts: QueueBaseOptions) {
    this.flow = new FlowProducer(opts);
  }

  add(root: CatalogFlowJob): ReturnType<FlowProducer['add']> {
    return this.flow.add(root);
  }

  close(): Promise<void> {
    return this.flow.close();
  }
}
