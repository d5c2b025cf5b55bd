import type { Store } from '@wa-sync/shared/store';
import { addMediaJobs, type Logger, mediaJobId, type SessionQueues } from '@wa-sync/shared/runtime';

/** Pending media looked at per sweep and session. */
const SWEEP_BATCH = 1000;

/**
 * Gives every `pending` media of the session a job again when it has none waiting or running:
 * its job was lost (Redis restarted empty, a save that stored the message but could not add the
 * job), or ended without recording a final status (a runner killed during its last try). Run when
 * the session becomes ready here and then every MEDIA_SWEEP_MS; a media with a live job is left
 * alone, so the sweep never doubles a download. Resolves to the jobs it added.
 */
export async function sweepPendingMedia(deps: { store: Store; queues: SessionQueues; logger: Logger }, sessionId: string): Promise<number> {
  const refs = await deps.store.pendingMedia(sessionId, SWEEP_BATCH);
  if (refs.length === 0) return 0;
  const queue = deps.queues.get(sessionId);
  const missing: typeof refs = [];
  for (const ref of refs) {
    const job = await queue.getJob(mediaJobId(ref.chatId, ref.messageId));
    if (!job) {
      missing.push(ref);
      continue;
    }
    const state = await job.getState();
    // Finished without a final status: a fresh job (same id) once the old one is gone.
    if (state === 'completed' || state === 'failed') {
      await job.remove().catch(() => undefined);
      missing.push(ref);
    }
  }
  // `catch-up`: under MEDIA_DOWNLOAD=live a lost job's file is fetched rather than skipped.
  await addMediaJobs(queue, sessionId, missing, 'catch-up');
  if (missing.length > 0) deps.logger.info({ sessionId, added: missing.length, pending: refs.length }, 'media sweep: jobs added for pending media');
  return missing.length;
}
