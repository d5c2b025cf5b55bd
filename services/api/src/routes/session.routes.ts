import type { FastifyRequest } from 'fastify';
import {
  JobProducer,
  listRunners,
  QueueName,
  type Session,
  sessionOwners,
  type SessionStatus,
} from '@wa-sync/shared/contracts';
import { pageSessions } from './session.page';
import type { ApiPlugin } from '../app.types';
import { routeSchema } from '../openapi/openapi.registry';
import { routeRateLimit } from '../ops/rate-limit.plugin';
import {
  CreateSessionBody,
  DeleteSessionQuery,
  RunnerList,
  SessionList,
  SessionsQuery,
  SessionParams,
  SessionStarted,
  SessionStopping,
  SessionView,
} from './session.schemas';
import { assertWebhooksAllowed } from './webhook-url.check';

/** A session in one of these has a live client (or is getting one): creating it again is a no-op. */
const RUNNING: SessionStatus[] = ['starting', 'qr', 'authenticated', 'ready'];

export function sessionView(session: Session, runnerId: string | null = null): SessionView {
  return {
    sessionId: session.sessionId,
    status: session.status,
    statusDetail: session.statusDetail,
    lastSync: session.lastSync,
    runnerId,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
  };
}

const tags = ['sessions'];

/** For a token: creating a session, or a body with `webhooks`, is the operator's. */
async function createsOrSetsWebhooks(req: FastifyRequest): Promise<boolean> {
  const body = req.body as { webhooks?: unknown } | undefined;
  if (body && typeof body === 'object' && body.webhooks !== undefined) return true;
  return !(await req.server.deps.store.getSession((req.params as { id: string }).id));
}

/** Creating sessions and the lists: no existing session needed. */
export const sessionRoutes: ApiPlugin = async (app) => {
  const { deps } = app;
  const rateLimit = routeRateLimit(deps);
  app.post(
    '/whatsapp-web/session/:id',
    {
      // A token may start its own session again, not create one or set webhooks.
      config: { rateLimit, access: 'control', operatorWhen: createsOrSetsWebhooks },
      schema: routeSchema({
        tags,
        operationId: 'startSession',
        summary: 'Create or start a session',
        description:
          'Starts the WhatsApp client; follow its QR and status on the WebSocket. The optional body sets the session\'s webhooks. Rate limited per API key or IP.',
        params: SessionParams,
        body: CreateSessionBody,
        responses: {
          201: { description: 'Created and starting', schema: SessionStarted },
          200: { description: 'Already exists (started again if it was not running)', schema: SessionStarted },
        },
        errors: [400, 429, 503],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const { webhooks } = req.body;
      if (webhooks) await assertWebhooksAllowed(webhooks, deps.webhookPolicy);
      const { session, created } = await deps.store.ensureSession(id);
      if (webhooks) await deps.store.setSessionWebhooks(id, deps.webhookSecrets.sealAll(webhooks));
      let status = session.status;
      if (created || !RUNNING.includes(status)) {
        if (!created) {
          await deps.store.setSessionStatus(id, 'starting');
          status = 'starting';
        }
        await new JobProducer(QueueName.sessionCommands, deps.commands).add('start-session', { sessionId: id });
      }
      return reply.status(created ? 201 : 200).send({ sessionId: id, status });
    },
  );

  app.get(
    '/whatsapp-web/sessions',
    {
      config: { access: 'operator' },
      schema: routeSchema({
        tags,
        operationId: 'listSessions',
        summary: 'List sessions with their status, a page at a time (creation order)',
        querystring: SessionsQuery,
        responses: { 200: { description: 'A page of sessions; `nextCursor: null` on the last page', schema: SessionList } },
        errors: [400, 503],
      }),
    },
    async (req) => {
      // Paged in creation order: a runner with thousands of sessions answers a page, not all of them.
      const page = pageSessions(await deps.store.listSessions(), req.query);
      const owners = await sessionOwners(deps.redis, page.items.map((s) => s.sessionId));
      return { sessions: page.items.map((s, i) => sessionView(s, owners[i])), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/whatsapp-web/runners',
    {
      config: { access: 'operator' },
      schema: routeSchema({
        tags,
        summary: 'Session runners alive (heartbeat within two leases) and the sessions each owns',
        responses: { 200: { description: 'Every live runner', schema: RunnerList } },
        errors: [503],
      }),
    },
    async () => {
      const runners = await listRunners(deps.redis);
      return { runners: runners.map(({ id, pid, host, sessions, heartbeatAt }) => ({ id, pid, host, sessions, heartbeatAt })) };
    },
  );
};

/** One existing session: read it, stop it (in the session scope: `req.session` is loaded). */
export const sessionViewRoutes: ApiPlugin = async (app) => {
  const { deps } = app;

  app.get(
    '/whatsapp-web/session/:id',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        operationId: 'getSession',
        summary: 'A session: status and last sync',
        params: SessionParams,
        responses: { 200: { description: 'The session', schema: SessionView } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const [owner] = await sessionOwners(deps.redis, [req.params.id]);
      return sessionView(req.session, owner);
    },
  );

  app.delete(
    '/whatsapp-web/session/:id',
    {
      // A token may stop its session, not log it out.
      config: { access: 'control', operatorWhen: (req) => DeleteSessionQuery.safeParse(req.query).data?.logout === true },
      schema: routeSchema({
        tags,
        operationId: 'stopSession',
        summary: 'Stop the client; `?logout=true` also logs out and forgets the auth',
        params: SessionParams,
        querystring: DeleteSessionQuery,
        responses: { 202: { description: 'Stopping', schema: SessionStopping } },
        errors: [400, 404, 503],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const { logout } = req.query;
      await new JobProducer(QueueName.sessionCommands, deps.commands).add('stop-session', { sessionId: id, logout });
      return reply.status(202).send({ sessionId: id, status: req.session.status, stopping: true, logout });
    },
  );
};
