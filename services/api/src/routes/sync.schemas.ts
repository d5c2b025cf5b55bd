import { z } from 'zod';
import { SyncSnapshot } from '@wa-sync/shared/contracts';
import { named } from '../openapi/schema.names';

export { SessionParams } from './common.schemas';

export const SyncBody = named(
  'SyncRequest',
  z
    .object({
      /** Messages fetched per chat; defaults to SYNC_LIMIT_PER_CHAT. */
      limitPerChat: z.number().int().min(1).max(10_000).optional(),
      /** Only these chats; all chats when absent. */
      chatIds: z.array(z.string().min(1).max(256)).min(1).max(100_000).optional(),
    })
    .strict(),
  'input',
);

export const SyncAccepted = named('SyncAccepted', z.object({
  syncId: z.string(),
  /** Present when a sync was already running: its id is returned instead of starting another. */
  coalesced: z.literal(true).optional(),
  /** Present when the running sync does not cover the request: it runs (merged with other queued requests) right after. */
  queued: z.literal(true).optional(),
}));

/** Same fields as the `sync_chats` WebSocket event: one definition, in packages/shared. */
export const SyncSnapshotView = named('SyncSnapshot', SyncSnapshot);
