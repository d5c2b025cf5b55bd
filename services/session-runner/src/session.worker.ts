// The per-session queue worker and its job handlers: kept apart from the client's lifecycle, because the
// worker outlives clients (it is paused, not rebuilt, while a dropped client reconnects).
import { sessionQueueName } from '@wa-sync/shared/contracts';
import { BlobStoreUnavailableError } from '@wa-sync/shared/blob';
import { type CatalogWorker, createCatalogWorker, isFinalFailure, putBack } from '@wa-sync/shared/runtime';
import { FetchPacer } from './fetch.pacer';
import { type PhoneLine, type ReactionsSeenSink, runFetchMessages } from './fetch-messages.handler';
import { pushReactionsSeen } from './live-sync.listener';
import { ClientAwayError, type MediaPipeline, runDownloadMedia } from './media-download.handler';
import { MediaSlots } from './media-slots.semaphore';
import { MEDIA_OFF } from './media.policy';
import { clientFor, type SessionContext } from './session.context';
import { runSyncStart } from './sync-start.handler';

const DEFAULT_LOCK_MS = 120_000;
/**
 * Session-queue jobs active at once, per phone slot: the extra ones wait in this process for a slot,
 * so the hand-off between two fetches (complete one job, fetch the next) is off the phone's path.
 */
const JOBS_PER_PHONE_SLOT = 2;
/** A job that got a slot when the client was away is taken again after this, without spending an attempt. */
const PUT_BACK_MS = 500;

/** Without a configured pipeline (tests that do not look at media), every file is skipped by policy. */
const NO_MEDIA: MediaPipeline = { ...MEDIA_OFF, blobs: null, slots: new MediaSlots(1) };

export function createSessionWorker(ctx: SessionContext, sessionId: string): CatalogWorker<'session'> {
  const { deps } = ctx;
  const media = deps.media ?? NO_MEDIA;
  const line = ctx.pacers.get(sessionId) ?? new FetchPacer(deps.fetchPauseMs ?? 0, deps.pacerClock, deps.concurrency);
  ctx.pacers.set(sessionId, line);
  // What a catch-up or a manual re-sync read of reactions joins the session's live writes.
  const reactionsSeen: ReactionsSeenSink = (chatId, seen) => {
    const session = ctx.live.get(sessionId);
    if (session) pushReactionsSeen(session.liveWrites, deps, sessionId, chatId, seen);
  };
  const worker = createCatalogWorker(
    'session',
    sessionQueueName(sessionId),
    {
      // A store locked past its wait puts it back without spending an attempt (createCatalogWorker).
      'sync-start': (data) => runSyncStart(clientFor(ctx, sessionId), data, deps),
      // Back-pressure: a batch is staged only while fewer than 2 × concurrency chats of its sync
      // await their save (checked alongside the phone call).
      'fetch-messages': async (data, job, token) => {
        let called = false;
        let away = false;
        // Each call takes a phone slot, then looks the client up: it may have been rebuilt meanwhile.
        const phone: PhoneLine = {
          fetchMessages: (chatId, opts) =>
            line.run(() => {
              let client;
              try {
                client = clientFor(ctx, sessionId);
              } catch (err) {
                away = true;
                throw err;
              }
              called = true;
              return client.fetchMessages(chatId, opts);
            }),
        };
        try {
          return await runFetchMessages(phone, data, deps.ledger, { maxStaged: 2 * deps.concurrency, media, reactionsSeen });
        } catch (err) {
          // The client dropped (or the session left this runner) while this job waited for a slot:
          // it is put back like the jobs not yet taken, without spending an attempt. A job whose
          // call reached the phone fails and retries, as before.
          if (away && !called && token) return putBack(job, token, PUT_BACK_MS);
          throw err;
        }
      },
      // Lower priority than fetches (MEDIA_JOB_PRIORITY); at most MEDIA_CONCURRENCY downloads in the runner.
      'download-media': async (data, job, token) => {
        const client = () => {
          try {
            return clientFor(ctx, sessionId);
          } catch (err) {
            throw new ClientAwayError((err as Error).message);
          }
        };
        try {
          return await runDownloadMedia(data, job, client, { store: deps.store, reporter: deps.reporter, logger: deps.logger, media });
        } catch (err) {
          // Like a fetch that never reached the phone: back later, no attempt spent (so is a blob store that is away).
          if ((err instanceof ClientAwayError || err instanceof BlobStoreUnavailableError) && token) return putBack(job, token, PUT_BACK_MS);
          throw err;
        }
      },
    },
    {
      connection: deps.redis,
      // Room for the media jobs beside the fetches: a media job waiting for a runner-wide slot holds one.
      concurrency: JOBS_PER_PHONE_SLOT * deps.concurrency + media.slots.size,
      lockDuration: deps.lockDurationMs ?? DEFAULT_LOCK_MS,
      ...(deps.stalledIntervalMs ? { stalledInterval: deps.stalledIntervalMs } : {}),
      // Runs from the first `ready`: jobs wait for the client instead of burning their retries on it.
      autorun: false,
    },
    deps.logger.child({ sessionId }),
  );
  // A sync that could not even start must not keep coalescing later requests into itself.
  worker.on('failed', (job, err) => {
    if (job?.name !== 'sync-start' || !('syncId' in job.data) || !isFinalFailure(job, err)) return;
    const { syncId } = job.data;
    deps.ledger
      .end(deps.queues, sessionId, syncId)
      .then(() => deps.reporter.announce(sessionId, 'sync_error', { sessionId, syncId, message: `sync could not start: ${err.message}` }))
      .catch((e) => deps.logger.error({ sessionId, syncId, err: e }, 'could not release a failed sync'));
  });
  return worker;
}
