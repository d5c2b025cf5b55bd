import type { WorkerOptions } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import {
  type AnyCatalogWorker,
  createCatalogWorker,
  DEFAULT_EVENT_LOG_MAXLEN,
  isFinalFailure,
  type Logger,
  openInspectQueue,
  type Redis,
  SessionQueues,
  SyncGoneError,
  SyncLedger,
} from '@wa-sync/shared/runtime';
import { type DeliveryConfig, deliveryConfig } from './delivery.config';
import { type DeliveryWorkers, startDeliveryWorkers } from './delivery.workers';
import { FinalizeProgress } from './finalize-progress.reporter';
import { runFinalizeSync } from './finalize-sync.handler';
import { runSaveChat } from './save-chat.handler';

export interface SyncWorkers {
  workers: AnyCatalogWorker[];
  delivery: DeliveryWorkers;
  /** Takes no new job, waits for the active ones (and their bookkeeping), closes the queue it writes to. */
  close(): Promise<void>;
}

export interface SyncWorkersDeps {
  store: Store;
  redis: Redis;
  logger: Logger;
  concurrency: number;
  /** EVENT_LOG_MAXLEN. */
  eventLogMaxLen?: number;
  /** BullMQ `lockDuration` (default 30 s): how long a dead worker's job stays locked. */
  lockDurationMs?: number;
  /** BullMQ `stalledInterval` (default 30 s): how often jobs of dead workers are looked for. */
  stalledIntervalMs?: number;
  /** Downstream delivery (RabbitMQ, webhooks); default: none configured, `session_ready` only logged. */
  delivery?: DeliveryConfig;
}

/** The save and finalize workers of one sync-workers process. */
export function startSyncWorkers(deps: SyncWorkersDeps): SyncWorkers {
  const { store, redis, logger } = deps;
  const ledger = new SyncLedger(redis, deps.eventLogMaxLen);
  // Bull Board shows the sync's percentage on its finalize job.
  const finalizeQueue = openInspectQueue(QueueName.syncFinalize, { connection: redis });
  const finalizeProgress = new FinalizeProgress(finalizeQueue, ledger, logger);
  const queues = new SessionQueues(redis, logger);
  const lock: Partial<WorkerOptions> = {
    ...(deps.lockDurationMs ? { lockDuration: deps.lockDurationMs } : {}),
    ...(deps.stalledIntervalMs ? { stalledInterval: deps.stalledIntervalMs } : {}),
  };
  const eventLogMaxLen = deps.eventLogMaxLen ?? DEFAULT_EVENT_LOG_MAXLEN;
  const delivery = startDeliveryWorkers({ config: deps.delivery ?? deliveryConfig(), store, redis, logger, eventLogMaxLen, lock });
  /** Failed chats being counted: shutdown waits for them, a chat is never left uncounted by a close. */
  const pending = new Set<Promise<unknown>>();

  const save = createCatalogWorker(
    QueueName.chatSave,
    QueueName.chatSave,
    {
      'save-chat': async (data, job, token) => {
        // A locked store puts the save back without spending an attempt (createCatalogWorker); its batch stays staged.
        const { recorded, ...result } = await runSaveChat(job, data, { store, ledger, queues, logger }, token);
        finalizeProgress.report(data.syncId, job.parent?.id, recorded);
        logger.debug({ sessionId: data.sessionId, syncId: data.syncId, chatId: data.chatId, ...result }, 'chat saved');
        return result;
      },
    },
    { connection: redis, concurrency: deps.concurrency, ...lock },
    logger,
  );
  // Count a chat as failed as soon as its save gives up, not only when finalize runs.
  save.on('failed', (job, err) => {
    if (!job || !isFinalFailure(job, err)) return;
    const { sessionId, syncId, chatId } = job.data;
    // A sync Redis lost has nothing to count into; the runner's lost-sync check closes it.
    if (err instanceof SyncGoneError) return void logger.warn({ sessionId, syncId, chatId }, 'chat of a sync Redis lost: dropped');
    logger.warn({ sessionId, syncId, chatId, err: err.message }, 'chat failed after its retries');
    const counting = ledger
      .recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: `save failed: ${err.message}` })
      .then((recorded) => finalizeProgress.report(syncId, job.parent?.id, recorded))
      .catch((e) => logger.error({ err: e, sessionId, syncId, jobId: job.id }, 'could not count failed chat'))
      .finally(() => pending.delete(counting));
    pending.add(counting);
  });

  const finalize = createCatalogWorker(
    QueueName.syncFinalize,
    QueueName.syncFinalize,
    {
      'finalize-sync': async (data, job) => {
        const summary = await runFinalizeSync(data, () => job.getChildrenValues(), { store, ledger, router: delivery.router, queues, logger });
        await job.updateProgress(100);
        return summary;
      },
      // Its only work is to complete: then finalize may run once its chats are done too.
      'graph-complete': async () => undefined,
    },
    { connection: redis, concurrency: 2, ...lock },
    logger,
  );

  return {
    workers: [save, finalize],
    delivery,
    async close() {
      await Promise.all([save.close(), finalize.close()]);
      await Promise.all(pending);
      await delivery.close();
      await finalizeQueue.close();
      await queues.close();
    },
  };
}
