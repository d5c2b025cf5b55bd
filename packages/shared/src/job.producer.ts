import type { FlowJob, Job, JobsOptions, Queue } from 'bullmq';
import type { z } from 'zod';
import { type CatalogQueue, FetchMessagesResult, JobCatalog, type JobName, type JobSpec, SaveChatResult, jobOptions } from './job.catalog';
import { SessionEventSchemas } from './session-event.schemas';
import { QueueName } from './queue.names';

/**
 * Producers typed from the job catalog: a job name the catalog does not list, or a payload that
 * does not match its schema, fails to compile; the payload is parsed again when added (a bad one
 * throws here, in the producer, instead of failing in a worker) and the catalog's retry options
 * are applied. Workers parse on process (`createCatalogWorker`); results are parsed where read.
 */

type SchemaOf<Q extends CatalogQueue, N extends JobName<Q>> = JobCatalog[Q][N] extends JobSpec<infer S> ? S : never;
/** What a producer passes (defaults may be left out). */
export type JobInput<Q extends CatalogQueue, N extends JobName<Q>> = z.input<SchemaOf<Q, N>>;

/** The payload of `name`, parsed with its catalog schema (throws a TypeError naming the field). */
export function parseJobData<Q extends CatalogQueue, N extends JobName<Q>>(catalog: Q, name: N, data: unknown): z.output<SchemaOf<Q, N>> {
  const spec = (JobCatalog[catalog] as Record<string, JobSpec>)[name];
  if (!spec) throw new Error(`job "${name}" is not in the catalog of ${catalog}`);
  const parsed = spec.schema.safeParse(data);
  if (parsed.success) return parsed.data as z.output<SchemaOf<Q, N>>;
  const issue = parsed.error.issues[0];
  throw new TypeError(`invalid ${name} payload: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/** Any payload of a catalog queue (what its producers pass). */
export type CatalogPayload<Q extends CatalogQueue> = { [N in JobName<Q>]: JobInput<Q, N> }[JobName<Q>];
/**
 * A BullMQ queue typed from its catalog: only the catalog's job names compile. Opened by
 * `openCatalogQueue` (`@wa-sync/shared/runtime`); jobs go in through `JobProducer`.
 */
export type CatalogQueueOf<Q extends CatalogQueue> = Queue<CatalogPayload<Q>, unknown, JobName<Q>>;
/** A queue opened to read or clean up (counts, Bull Board, obliterate): no job name compiles in `add`. */
export type InspectQueue = Queue<never, unknown, never>;

/** The one way to add a job to a catalog queue. */
export class JobProducer<Q extends CatalogQueue> {
  constructor(
    readonly catalog: Q,
    readonly queue: CatalogQueueOf<Q>,
  ) {}

  async add<N extends JobName<Q>>(name: N, data: JobInput<Q, N>, opts: JobsOptions = {}): Promise<Job> {
    return this.untyped().add(name, parseJobData(this.catalog, name, data), { ...jobOptions(this.catalog, name), ...opts });
  }

  /** Several jobs in one round trip, each typed and parsed like `add`. */
  async addBulk<N extends JobName<Q>>(jobs: { name: N; data: JobInput<Q, N>; opts?: JobsOptions }[]): Promise<Job[]> {
    if (jobs.length === 0) return [];
    return this.untyped().addBulk(
      jobs.map((j) => ({ name: j.name, data: parseJobData(this.catalog, j.name, j.data), opts: { ...jobOptions(this.catalog, j.name), ...j.opts } })),
    );
  }

  /** The name and its payload were checked together above, which the queue's own types cannot express. */
  private untyped(): Queue {
    return this.queue as unknown as Queue;
  }
}

declare const builtByFlowJob: unique symbol;
/** A flow node built by `flowJob` (a plain `FlowJob` literal is not one). */
export type CatalogFlowJob = FlowJob & { readonly [builtByFlowJob]: true };

/** A node of a BullMQ flow, typed and parsed like `JobProducer.add`; its children are `flowJob`s too. */
export function flowJob<Q extends CatalogQueue, N extends JobName<Q>>(
  catalog: Q,
  name: N,
  node: { queueName: string; data: JobInput<Q, N>; opts?: JobsOptions; children?: CatalogFlowJob[] },
): CatalogFlowJob {
  return {
    name,
    queueName: node.queueName,
    data: parseJobData(catalog, name, node.data),
    opts: { ...jobOptions(catalog, name), ...node.opts },
    ...(node.children ? { children: node.children } : {}),
  } as unknown as CatalogFlowJob;
}

/** What the jobs that return something return: read by parents (save ← fetch) and consumers. */
export const JobResults = {
  session: { 'fetch-messages': FetchMessagesResult },
  [QueueName.chatSave]: { 'save-chat': SaveChatResult },
  /** finalize-sync returns the sync's `session_ready` event. */
  [QueueName.syncFinalize]: { 'finalize-sync': SessionEventSchemas.session_ready },
} as const satisfies { [Q in CatalogQueue]?: { [N in JobName<Q>]?: z.ZodTypeAny } };
type JobResults = typeof JobResults;

/** A job's return value, parsed with its result schema: a bad one throws instead of being trusted. */
export function parseJobResult<Q extends keyof JobResults, N extends keyof JobResults[Q]>(
  catalog: Q,
  name: N,
  value: unknown,
): JobResults[Q][N] extends z.ZodTypeAny ? z.output<JobResults[Q][N]> : never {
  return (JobResults[catalog] as Record<PropertyKey, z.ZodTypeAny>)[name as PropertyKey].parse(value) as never;
}
