import type { Job } from 'bullmq';
import type { DownloadMediaJob, MediaDescriptor } from '@wa-sync/shared/contracts';
import { type BlobInfo, type BlobStore, BlobStoreUnavailableError } from '@wa-sync/shared/blob';
import type { Store } from '@wa-sync/shared/store';
import type { Logger } from '@wa-sync/shared/runtime';
import type { WhatsAppClient } from './engine/engine.interface';
import type { MediaSlots } from './media-slots.semaphore';
import { type MediaRule, leftOutBy } from './media.policy';
import type { SessionStatusReporter } from './session-status.reporter';

/** The runner's media settings and the places files go. */
export interface MediaPipeline extends MediaRule {
  /** Null only with policy `off`. */
  blobs: BlobStore | null;
  slots: MediaSlots;
}

export interface MediaJobDeps {
  store: Store;
  reporter: SessionStatusReporter;
  logger: Logger;
  media: MediaPipeline;
}

/** What a media job ended with (its return value, for Bull Board and tests). */
export interface MediaJobResult {
  status: MediaDescriptor['status'] | 'gone';
}

/**
 * Downloads one message's file into the blob store, then records the descriptor and logs
 * `message:media`. Idempotent: a message whose media is no longer `pending` (stored by an earlier
 * run, a duplicate job) is left alone, and the blob store keeps one copy of the same bytes. The
 * file is held only while in flight, inside one of the runner's media slots. `client()` throws
 * when the session's client is away, and the blob store's ping when it is unreachable: the caller
 * puts the job back without spending an attempt in both cases.
 */
export async function runDownloadMedia(data: DownloadMediaJob, job: Job, client: () => WhatsAppClient, deps: MediaJobDeps): Promise<MediaJobResult> {
  const { sessionId, chatId, messageId } = data;
  const message = await deps.store.getMessage(sessionId, chatId, messageId);
  const media = message?.media;
  if (!media || media.status !== 'pending') return { status: media?.status ?? 'gone' };
  const finish = (next: Partial<MediaDescriptor>) => recordMedia(deps, data, { ...media, ...next });
  const { maxBytes, blobs } = deps.media;
  if (!blobs) return finish({ status: 'skipped', error: 'policy' });
  // Fetched media is settled by the same rule before it is stored; live messages and media stored
  // before that (or under another setting) come here.
  const leftOut = leftOutBy(media, data.origin, deps.media);
  if (leftOut) return finish({ status: 'skipped', error: leftOut });
  let outcome: Partial<MediaDescriptor>;
  try {
    // The slot bounds the files held in memory: it is released once the bytes are in the blob
    // store's temp file (onWritten) or the put ended, before the file is renamed into place and
    // the descriptor recorded, so the next download overlaps this file's last steps.
    const inSlot = await deps.media.slots.run(async (): Promise<{ done: Partial<MediaDescriptor> } | { put: Promise<BlobInfo>; mimetype: string | null; filename: string | null }> => {
      const phone = client();
      // Asked before the download: with the blob store away, the phone is not asked for a file that has nowhere to go.
      await blobs.ping();
      const file = await phone.downloadMedia(chatId, messageId, { mimetype: media.mimetype, size: media.size, live: data.origin === 'live' });
      if (file.status === 'expired') return { done: { status: 'expired', error: null } };
      if (file.data.length > maxBytes) return { done: { status: 'skipped', error: 'too_large', size: file.data.length } };
      let written!: () => void;
      const bytesOut = new Promise<void>((resolve) => (written = resolve));
      // Not used again here: the file store's writer thread takes the bytes without a copy.
      const put = blobs.put(file.data, { handOver: true, onWritten: written });
      await Promise.race([bytesOut, put]);
      // Not the file itself: its bytes must not outlive the slot here.
      return { put, mimetype: file.mimetype, filename: file.filename };
    });
    if ('done' in inSlot) {
      outcome = inSlot.done;
    } else {
      const stored = await inSlot.put;
      outcome = {
        status: 'stored',
        error: null,
        sha256: stored.sha256,
        size: stored.size,
        mimetype: media.mimetype ?? inSlot.mimetype,
        filename: media.filename ?? inSlot.filename,
      };
    }
  } catch (err) {
    if (err instanceof ClientAwayError || err instanceof BlobStoreUnavailableError) throw err;
    // The last try records the failure: the message must not stay `pending` once no retry is left.
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) return finish({ status: 'failed', error: (err as Error).message.slice(0, 500) });
    throw err;
  }
  return finish(outcome);
}

/** The session's client is not here (not ready, moved): nothing was asked of the phone. */
export class ClientAwayError extends Error {
  override readonly name = 'ClientAwayError';
}

async function recordMedia(deps: MediaJobDeps, data: DownloadMediaJob, media: MediaDescriptor): Promise<MediaJobResult> {
  const { sessionId, chatId, messageId } = data;
  if (await deps.store.setMedia(sessionId, chatId, messageId, media)) {
    await deps.reporter.announce(sessionId, 'message:media', { sessionId, chatId, id: messageId, media });
  }
  deps.logger.debug({ sessionId, chatId, messageId, status: media.status, error: media.error }, 'media recorded');
  return { status: media.status };
}
