import { Job } from 'bullmq';
import { type InspectQueue, SyncJobId } from '@wa-sync/shared/contracts';
import type { Logger, SyncLedger } from '@wa-sync/shared/runtime';

/** Syncs whose last reported percentage is remembered, at most this many (oldest forgotten first). */
const REMEMBERED = 1_000;

/**
 * Bull Board shows a job's `progress`: a sync's finalize job, waiting for its chats, carries the
 * sync's percentage. Reported after a chat is counted, only when the whole percent moved (at most
 * ~100 writes per sync), off the save job's path (not awaited) and never failing it.
 */
export class FinalizeProgress {
  private readonly last = new Map<string, number>();

  constructor(
    /** The sync-finalize queue. */
    private readonly queue: InspectQueue,
    private readonly ledger: SyncLedger,
    private readonly logger: Logger,
  ) {}

  /**
   * Fire and forget: a lost update only leaves Bull Board a step behind. `count` is the sync's
   * count as the progress script returned it; without it, progress is read from Redis.
   */
  report(syncId: string, finalizeJobId: string | undefined, count?: { currentChat: number; nChats: number }): void {
    this.update(syncId, finalizeJobId ?? SyncJobId.finalize(syncId), count).catch((err: Error) =>
      this.logger.debug({ syncId, err: err.message }, 'finalize progress not updated'),
    );
  }

  private async update(syncId: string, jobId: string, count?: { currentChat: number; nChats: number }): Promise<void> {
    const snapshot = count ?? (await this.ledger.get(syncId));
    if (!snapshot || snapshot.nChats === 0) return;
    const percent = Math.floor((100 * snapshot.currentChat) / snapshot.nChats);
    if ((this.last.get(syncId) ?? -1) >= percent) return;
    this.last.delete(syncId);
    this.last.set(syncId, percent);
    if (this.last.size > REMEMBERED) this.last.delete(this.last.keys().next().value as string);
    // A handle on the job without loading it: its data (every chat id) can be large.
    await new Job(this.queue, 'finalize-sync', {}, {}, jobId).updateProgress(percent);
  }
}
