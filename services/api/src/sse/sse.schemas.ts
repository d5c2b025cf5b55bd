import { EventId } from '@wa-sync/shared/contracts';
import { z } from 'zod';

import { Days, PerChatLimit } from '../routes/recent.schemas';

export { SessionParams } from '../routes/common.schemas';

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
