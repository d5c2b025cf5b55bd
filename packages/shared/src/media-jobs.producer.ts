import { createHash } from 'node:crypto';
import type { DownloadMediaJob, JobName } from './job.catalog';
import { type CatalogQueueOf, JobProducer } from './job.producer';
import type { Message } from './domain.schemas';

/**
 * BullMQ priority of media jobs in the session's queue: fetches and sync-start carry none, and
 * BullMQ takes jobs without a priority first, so media never holds the text sync back.
 */
export const MEDIA_JOB_PRIORITY = 10;

/**
 * One job id per message: a message saved twice (a retried save, a re-sync, the sweep) adds one
 * job while one is waiting or running. Hashed: chat and message ids may hold characters BullMQ
 * job ids must not (`:`).
 */
export function mediaJobId(chatId: string, messageId: string): string {
  return `media-${createHash('sha1').update(chatId).update('\0').update(messageId).digest('hex')}`;
}

/** The messages of a batch whose file still has to be fetched. */
export function pendingMediaOf(messages: Message[]): Message[] {
  return messages.filter((m) => m.media?.status === 'pending');
}

/** Adds a media job per message, after the messages are stored. */
export async function addMediaJobs(
  queue: CatalogQueueOf<'session'>,
  sessionId: string,
  refs: { chatId: string; messageId: string }[],
  origin: DownloadMediaJob['origin'],
): Promise<void> {
  if (refs.length === 0) return;
  const name: JobName<'session'> = 'download-media';
  await new JobProducer('session', queue).addBulk(
    refs.map((r) => ({
      name,
      data: { sessionId, chatId: r.chatId, messageId: r.messageId, origin },
      opts: { jobId: mediaJobId(r.chatId, r.messageId), priority: MEDIA_JOB_PRIORITY },
    })),
  );
}
