// The per-session queue worker and its job handlers: kept apart from the client's lifecycle, because the
// worker outlives clients (it is paused, not rebuilt, while a dropped client reconnects).
import { type Job, WaitingError, type Worker } from 'bullmq';
import { sessionQueueName } from '@wa-sync/shared/contracts';
import { createCatalogWorker, isFinalFailure, startQueuedSync } from '@wa-sync/shared/runtime';
import { FetchPacer } from './fetch.pacer';
import { type PhoneLine, runFetchMessages } from './fetch-messages.handler';
import { ClientNotReadyError, clientFor, type SessionContext } from './session.context';
import { runSyncStart } from './sync-start.handler';

const DEFAULT_LOCK_MS = 120_000;
/**
 * Session-queue jobs active at once, per phone slot: the extra ones wait in this process for a slot,
 * so the hand-off between two fetches (complete one job, fetch the next) is off the phone's path.
 */
const JOBS_PER_PHONE_SLOT = 2;

export function createSessionWorker(ctx: SessionContext, sessionId: string): Worker {
  const { deps } = ctx;
  let pacer = ctx.pacers.get(sessionId);
  if (!pacer) ctx.pacers.set(sessionId, (pacer = new FetchPacer(deps.fetchPauseMs ?? 0, deps.pacerClock, deps.concurrency)));
  const line = pacer;
  const worker = createCatalogWorker(
    'session',
    sessionQueueName(sessionId),
    {
      'sync-start': (data) => runSyncStart(clientFor(ctx, sessionId), data, deps),
      // Back-pressure: a batch is staged only while fewer than 2 × concurrency chats of its sync
      // await their save (checked alongside the phone call).
      'fetch-messages': async (data, job, token) => {
        let called = false;
        // Each call takes a phone slot, then looks the client up: it may have been rebuilt meanwhile.
        const phone: PhoneLine = {
          fetchMessages: (chatId, opts) =>
            line.run(() => {
              const client = clientFor(ctx, sessionId);
              called = true;
              return client.fetchMessages(chatId, opts);
            }),
        };
        try {
          return await runFetchMessages(phone, data, deps.redis, { maxStaged: 2 * deps.concurrency });
        } catch (err) {
          // The client dropped while this job waited for a slot: it goes back to the queue like the
          // jobs not yet taken, without spending an attempt. A call that reached the phone retries.
          if (!called && err instanceof ClientNotReadyError && token) return requeue(job, token);
          throw err;
        }
      },
    },
    {
      connection: deps.redis,
      concurrency: JOBS_PER_PHONE_SLOT * deps.concurrency,
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

async function requeue(job: Job, token: string): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}
