import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { routeSchema } from '../openapi/openapi.registry';
import { routeRateLimit } from '../ops/rate-limit.plugin';
import { currentSync } from '../sync-snapshot.reader';
import { SessionParams, SyncAccepted, SyncBody, SyncSnapshotView } from './sync.schemas';

const tags = ['sync'];

/** In the session scope. */
export const syncRoutes: ApiPlugin = async (app) => {
  const { deps } = app;
  const rateLimit = routeRateLimit(deps);
  app.post(
    '/whatsapp-web/session/:id/sync-chats',
    {
      config: { rateLimit, access: 'control' },
      schema: routeSchema({
        tags,
        operationId: 'syncChats',
        summary: 'Re-sync the session now',
        description:
          'While a sync runs that covers the request (all chats, or every asked chat), answers with the running `syncId` and ' +
          '`coalesced: true`; while one runs that does not (e.g. `chatIds` asked during the full first sync, or the reverse), ' +
          'the request is queued and runs right after it: `queued: true` with the id it will run under. ' +
          'Progress arrives as `sync_chats` on the ' +
          'WebSocket. The body is optional. Rate limited per API key or IP.',
        params: SessionParams,
        body: SyncBody,
        responses: { 202: { description: 'Started, or coalesced into the running sync', schema: SyncAccepted } },
        errors: [400, 404, 409, 429, 503],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const { body, session } = req;
      if (session.status !== 'ready') {
        throw new ApiError(409, 'session_not_ready', `session ${id} is ${session.status}; it must be ready to sync`);
      }
      const { syncId, coalesced, queued } = await deps.ledger.request(deps.sessionQueues, {
        sessionId: id,
        reason: 'manual',
        limitPerChat: body.limitPerChat ?? deps.limitPerChat,
        chatIds: body.chatIds,
      });
      req.log.info({ syncId, coalesced, queued }, 'sync requested');
      return reply.status(202).send({ syncId, ...(coalesced ? { coalesced: true } : {}), ...(queued ? { queued: true } : {}) });
    },
  );

  app.get(
    '/whatsapp-web/session/:id/sync',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        operationId: 'getSync',
        summary: 'The current or last sync snapshot (same fields as `sync_chats`)',
        params: SessionParams,
        responses: { 200: { description: 'The snapshot', schema: SyncSnapshotView } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const { id } = req.params;
      const sync = await currentSync(deps, id);
      if (!sync) throw new ApiError(404, 'no_sync', `session ${id} has not synced yet`);
      return sync;
    },
  );
};
