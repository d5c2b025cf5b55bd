import { EventId } from '@wa-sync/shared/contracts';
import { z } from 'zod';

export { SessionParams } from '../routes/common.schemas';

/** Desktop bootstrap window (seed 000): chats active in the last `days`, their last `limit` messages. */
export const Days = z.coerce.number().int().min(1).max(90).default(7);
export const PerChatLimit = z.coerce.number().int().min(1).max(100).default(50);

export const EventsQuery = z.object({
  /** `desktop` gets the bootstrap (recent history) before the live events; `mobile` only live events. */
  deviceType: z.enum(['desktop', 'mobile']).default('desktop'),
  days: Days,
  limit: PerChatLimit,
  /** Resume after this log id (same as the `Last-Event-ID` header, for clients that cannot set it). */
  lastEventId: EventId.optional(),
  /** The API key, for browsers (EventSource cannot set headers). */
  token: z.string().optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;
