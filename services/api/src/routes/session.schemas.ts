import { IsoDateTime, SessionStatus, SyncReason, booleanString } from '@wa-sync/shared';
import { z } from 'zod';

export { SessionParams } from './common.schemas';

export const DeleteSessionQuery = z.object({
  /** Also unlink the device and forget its auth. */
  logout: booleanString.default(false),
});

export const SyncRunView = z.object({
  syncId: z.string(),
  sessionId: z.string(),
  reason: SyncReason,
  startedAt: IsoDateTime,
  finishedAt: IsoDateTime.nullable(),
  nChats: z.number().int(),
  chatsFailed: z.number().int(),
  totalMessages: z.number().int(),
  done: z.boolean(),
});

export const SessionView = z.object({
  sessionId: z.string(),
  status: SessionStatus,
  statusDetail: z.string().nullable(),
  lastSync: SyncRunView.nullable(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type SessionView = z.infer<typeof SessionView>;

export const SessionList = z.object({ sessions: z.array(SessionView) });

export const SessionStarted = z.object({ sessionId: z.string(), status: SessionStatus });

export const SessionStopping = z.object({
  sessionId: z.string(),
  status: SessionStatus,
  stopping: z.literal(true),
  logout: z.boolean(),
});
