import { DelayedError, type Job, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import { type CatalogQueue, JobCatalog, type JobData, type JobName, type JobSpec } from './job.catalog';
import type { CatalogPayload } from './job.producer';
import type { Logger } from './logger.factory';
import { LostReplyReclaim } from './lost-reply.reclaim';
import { isRedisConnectionError } from './process.health';
import type { Redis } from './redis.client';
import { StoreBusyError } from './store/store.interface';

/** A job of a catalog queue, as its worker sees it: `job.data` is one of the catalog's payloads. */
export type CatalogJob<Q extends CatalogQueue> = Job<CatalogPayload<Q>, unknown, JobName<Q>>;
/** A worker of a catalog queue: its events hand out typed jobs, so nothing casts `job.data`. */
export type CatalogWorker<Q extends CatalogQueue> = Worker<CatalogPayload<Q>, unknown, JobName<Q>>;

/** A worker of any catalog queue (lists of a process's workers). */
export type AnyCatalogWorker = { [Q in CatalogQueue]: CatalogWorker<Q> }[CatalogQueue];

/** How long a worker waits before trying Redis again after a connection error (BullMQ's runRetryDelay). */
export const WORKER_RETRY_DELAY_MS = 1_000;

/** One handler per job name of a catalog queue: a missing handler fails to compile. */
export type CatalogHandlers<Q extends CatalogQueue> = {
  /** `token` is the job's lock token, for handlers that move their own job (back to wait, say). */
  [N in JobName<Q>]: (data: JobData<Q, N>, job: CatalogJob<Q>, token?: string) => Promise<unknown>;
};

/**
 * A BullMQ worker that parses every job's data with its catalog schema. A payload that does not
 * parse, or a job name with no handler, fails at once as unrecoverable: retrying cannot fix it.
 * A job that finds the store locked by another process past the store's wait (StoreBusyError) is
 * put back, delayed by the error's `retryAfterS`, without spending an attempt: a busy store is
 * back-pressure, not a failure, and attempts spent on a long lock would end in a failed chat.
 */
export function createCatalogWorker<Q extends CatalogQueue>(
  catalog: Q,
  queueName: string,
  handlers: CatalogHandlers<Q>,
  options: WorkerOptions,
  logger: Logger,
): CatalogWorker<Q> {
  const specs = JobCatalog[catalog] as Record<string, JobSpec>;
  let reclaim: LostReplyReclaim | undefined;
  const worker = new Worker<CatalogPayload<Q>, unknown, JobName<Q>>(
    queueName,
    async (job, token) => {
      const spec = specs[job.name];
      const handler = (handlers as Record<string, (data: unknown, job: CatalogJob<Q>, token?: string) => Promise<unknown>>)[job.name];
      if (!spec || !handler) throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${queueName}`);
      const parsed = (spec.schema as z.ZodTypeAny).safeParse(job.data);
      if (!parsed.success) {
        logger.error({ jobId: job.id, job: job.name, issues: parsed.error.issues }, 'invalid job payload');
        throw new UnrecoverableError(`invalid ${job.name} payload: ${parsed.error.issues[0]?.message}`);
      }
      reclaim?.track(job.id, token);
      return handler(parsed.data, job, token)
        .catch((err: unknown) => {
          if (!(err instanceof StoreBusyError) || !token) throw err;
          return putBack(job, token, err.retryAfterS * 1000);
        })
        .finally(() => reclaim?.handlerDone(job.id));
    },
    // BullMQ waits runRetryDelay (default 15 s) between tries of a connection-failed fetch of the
    // next job or completion of a finished one: after a Redis outage that left every worker up to
    // 15 s (then the locks lapsed: 45 s in all) before it took work again. Ioredis reconnects
    // within 2 s; trying each second resumes the work about as soon as Redis answers.
    { runRetryDelay: WORKER_RETRY_DELAY_MS, ...options },
  );
  worker.on('failed', (job, err) => {
    logger.warn({ queue: queueName, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed');
  });
  // Needs the worker's command connection: every service passes an ioredis instance.
  const connection = options.connection as Partial<Redis> | undefined;
  if (typeof connection?.lrange === 'function') reclaim = new LostReplyReclaim(worker, connection as Redis, logger);
  worker.on('error', (err) => {
    // Redis going away is one line of the process's health (ProcessHealth), not one per retry here.
    if (isRedisConnectionError(err)) logger.debug({ queue: queueName, err: err.message }, 'worker connection error');
    else logger.error({ queue: queueName, err }, 'worker error');
    reclaim?.onWorkerError(err);
  });
  return worker;
}

/**
 * From inside a handler: moves its job back to delayed for `delayMs` without spending an attempt,
 * and tells BullMQ so (DelayedError). Delayed, not waiting: a worker still running (its close or
 * pause under way) must not take it again at once.
 */
export async function putBack(job: Job, token: string, delayMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

/** True when BullMQ will not retry the job again. */
export function isFinalFailure(job: Job, err?: Error): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
}
