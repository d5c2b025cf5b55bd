import { IsoDateTime, RunnerInfo, SessionStatus, SessionWebhooks, SyncReason } from '@wa-sync/shared/contracts';
import { booleanString } from '@wa-sync/shared/runtime';
import { z } from 'zod';
import { named } from '../openapi/schema.names';

export { SessionParams } from './common.schemas';

/** Optional. `webhooks` replaces the session's webhooks (`[]` removes them); absent leaves them as they are. */
export const CreateSessionBody = z.object({
  webhooks: SessionWebhooks.optional().describe(
    'Where this session\'s events are POSTed, signed per Standard Webhooks: [{ url (http/https), events? (default WEBHOOK_EVENTS), secret? (whsec_…, default WEBHOOK_SECRET) }]. A URL whose host is or resolves to a loopback, private, link-local, unique-local or unspecified address, or that carries credentials, is refused: 400 webhook_url_forbidden (WEBHOOK_ALLOWED_HOSTS, WEBHOOK_ALLOW_PRIVATE)',
  ),
});

export const DeleteSessionQuery = z.object({
  /** Also unlink the device and forget its auth. */
  logout: booleanString.default(false),
});

export const SyncRunView = named('SyncRun', z.object({
  syncId: z.string(),
  sessionId: z.string(),
  reason: SyncReason,
  startedAt: IsoDateTime,
  finishedAt: IsoDateTime.nullable(),
  nChats: z.number().int(),
  chatsFailed: z.number().int(),
  totalMessages: z.number().int(),
  done: z.boolean(),
}));

export const SessionView = named('Session', z.object({
  sessionId: z.string(),
  status: SessionStatus,
  statusDetail: z.string().nullable(),
  lastSync: SyncRunView.nullable(),
  /** The runner holding the session's lease (its client runs there), or null. */
  runnerId: z.string().nullable(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
}));
export type SessionView = z.infer<typeof SessionView>;

export const SessionList = named(
  'SessionList',
  z.object({ sessions: z.array(SessionView), nextCursor: z.string().nullable().describe('`cursor` of the next page; null on the last') }),
);

export const SessionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(200).optional(),
});

export const SessionStarted = named('SessionStarted', z.object({ sessionId: z.string(), status: SessionStatus }));

export const SessionStopping = named('SessionStopping', z.object({
  sessionId: z.string(),
  status: SessionStatus,
  stopping: z.literal(true),
  logout: z.boolean(),
}));

/** A runner as the registry holds it (packages/shared runners.ts), its heartbeat as an ISO date-time. */
export const RunnerView = RunnerInfo.pick({ id: true, pid: true, host: true, sessions: true }).extend({ heartbeatAt: IsoDateTime });
export const RunnerList = z.object({ runners: z.array(RunnerView) });
