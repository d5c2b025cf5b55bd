// The per-session queue worker and its job handlers: kept apart from the client's lifecycle, because the
// worker outlives clients (it is paused, not rebuilt, while a dropped client reconnects).
import type { Worker } from 'bullmq';
import { sessionQueueName } from '@wa-sync/shared/contracts';
import { createCatalogWorker, isFinalFailure, startQueuedSync } from '@wa-sync/shared/runtime';
import { FetchPacer } from './fetch.pacer';
import { runFetchMessages } from './fetch-messages.handler';
import { clientFor, type SessionContext } from './session.context';
import { runSyncStart } from './sync-start.handler';

const DEFAULT_LOCK_MS = 120_000;

export function createSessionWorker(ctx: SessionContext, sessionId: string): Worker {
  const { deps } = ctx;
  let pacer = ctx.pacers.get(sessionId);
  if (!pacer) ctx.pacers.set(sessionId, (pacer = new FetchPacer(deps.fetchPauseMs ?? 0, deps.pacerClock)));
  const worker = createCatalogWorker(
    'session',
    sessionQueueName(sessionId),
    {
      'sync-start': (data) => runSyncStart(clientFor(ctx, sessionId), data, deps),
      // The client is looked up after the pause: it may have been rebuilt meanwhile.
      // Back-pressure: a batch is staged only while fewer than 2 × concurrency chats of its sync
      // await their save (checked alongside the phone call).
      'fetch-messages': (data) =>
        pacer.run(() => runFetchMessages(clientFor(ctx, sessionId), data, deps.redis, { maxStaged: 2 * deps.concurrency })),
    },
    {
      connection: deps.redis,
      concurrency: deps.concurrency,
      lockDuration: deps.lockDurationMs ?? DEFAULT_LOCK_MS,
      ...(deps.stalledIntervalMs ? { stalledInterval: deps.stalledIntervalMs } : {}),
      // Runs from the first `ready`: jobs wait for the client instead of burning their retries on it.
      autorun: false,
    },
    deps.logger.child({ sessionId }),
  );
  // A sync that could not even start must not keep coalescing later requests into itself.
  worker.on('failed', (job, err) => {
    if (job?.name !== 'sync-start' || !isFinalFailure(job, err)) return;
    const { syncId } = job.data as { syncId: string };
    deps.progress
      .release(sessionId, syncId)
      .then(() => deps.reporter.announce(sessionId, 'sync_error', { sessionId, syncId, message: `sync could not start: ${err.message}` }))
      .then(() => startQueuedSync(deps.redis, deps.queues, sessionId))
      .catch((e) => deps.logger.error({ sessionId, syncId, err: e }, 'could not release a failed sync'));
  });
  return worker;
}
