import { z } from 'zod';
import { named } from '../openapi/schema.names';
import { MessagesParams } from './chat.schemas';

export const MediaParams = MessagesParams.extend({ messageId: z.string().min(1).max(512) });

/** `?token=` is read by the access check (browsers cannot add a header to an `<img src>`); declared so it is documented and allowed. */
export const MediaQuery = z.object({ token: z.string().min(1).optional() });

export const MediaCountsView = named(
  'MediaCounts',
  z.object({
    pending: z.number().int().nonnegative(),
    stored: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    expired: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    /** Bytes of the stored files (a file in two chats counts twice). */
    bytes: z.number().int().nonnegative(),
  }),
);
