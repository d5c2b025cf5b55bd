import type { FastifyRequest } from 'fastify';
import { EventId } from '@wa-sync/shared/contracts';
import type { ApiDeps } from '../api.deps';
import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { routeSchema } from '../openapi/openapi.registry';
import { sseEvent } from '../stream/frame.cache';
import { writeDesktopBootstrap } from './desktop.bootstrap';
import { SSE_HEARTBEAT_MS, type SseClient } from './sse.hub';
import { EventsQuery, SessionParams } from './sse.schemas';
import { SseWriter } from './sse.writer';

export const EVENTS_ROUTE = '/whatsapp-web/session/:id/events';

/** How soon an EventSource reconnects after the stream ends. */
const RETRY_MS = 2_000;

const EVENTS_SCHEMA = routeSchema({
  tags: ['events'],
  summary: 'Server-Sent Events: desktop bootstrap, then every session event with its log id',
  description:
    '`connected {sessionId, deviceType}`; for `deviceType=desktop` not resuming: `sync:initial {conversations, days, limit}`, ' +
    'one `message:sync` per message, `sync:complete {count}` (its `id:` is the log position the bootstrap started at), or ' +
    '`sync:error {message}`; then every logged event (`qr`, `status`, `sync_chats`, `message:new`…) with its log id as `id:`. ' +
    'Reconnect with `Last-Event-ID` (or `?lastEventId=`) to replay what was missed; an id the log no longer holds restarts ' +
    'the bootstrap. A comment line every 15 s keeps proxies from closing the stream.',
  params: SessionParams,
  querystring: EventsQuery,
  responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
  errors: [400],
  // EventSource cannot set headers: the key may come as `?token=`.
  security: [{ bearerAuth: [] }, { tokenQuery: [] }],
});

/**
 * `GET …/events`: Server-Sent Events. `connected`; for a desktop that is not resuming the
 * bootstrap (`sync:initial`, `message:sync`…, `sync:complete` with the log position it started
 * at); then every logged event of the session with its log id, none missed and none twice.
 */
export const eventsRoutes: ApiPlugin = async (app) => {
  const { deps, sseHub: hub, liveFeed: feed } = app;
  hub.startHeartbeat(deps.sseHeartbeatMs ?? SSE_HEARTBEAT_MS);
  // Streams never end on their own: without this, app.close() would wait for them forever.
  app.addHook('preClose', async () => hub.closeAll());

  app.get(
    EVENTS_ROUTE,
    {
      // A HEAD would open a stream that never ends and sends nothing.
      exposeHeadRoute: false,
      config: { access: 'stream', queryToken: true },
      schema: EVENTS_SCHEMA,
    },
    async (req, reply) => {
      const { id: sessionId } = req.params;
      const { query } = req;
      const resumeFrom = lastEventId(req) ?? query.lastEventId;

      reply.hijack();
      const res = reply.raw;
      // CORS headers were set on the reply by its onRequest hook; a hijacked reply sends nothing itself.
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.flushHeaders();
      // Subscribe first: every event logged from here on is held back until the stream is live.
      const client = hub.add(sessionId, res);
      // A token's stream ends within seconds of the token's expiry or revocation.
      const untrack = app.streamAccess.track(client, req.principal, () => {
        hub.remove(client);
        res.end();
      });
      const gone = () => {
        untrack();
        hub.remove(client);
      };
      req.raw.on('close', gone);
      res.on('error', gone);

      const writer = new SseWriter(client);
      await writer.push(`retry: ${RETRY_MS}\n\n`);
      await writer.push(sseEvent('connected', { sessionId, deviceType: query.deviceType }));
      // Right away: the client knows it is connected while the store is read.
      await writer.flush();
      try {
        const through = await catchUp(deps, writer, client, query, resumeFrom);
        await writer.flush();
        if (through) feed?.observe(sessionId, through);
        hub.release(client, through);
      } catch (err) {
        req.log.error({ err }, 'event stream failed to start');
        hub.remove(client);
        res.end();
      }
    },
  );
};

/**
 * Writes what comes before the live events and returns the last log id the stream carried:
 * the replay after `Last-Event-ID`, or the bootstrap and the log after the position it started at.
 */
async function catchUp(deps: ApiDeps, writer: SseWriter, client: SseClient, query: EventsQuery, resumeFrom: string | undefined): Promise<string | null> {
  const { sessionId } = client;
  if (resumeFrom) {
    const replay = await deps.events.replayAfter(sessionId, resumeFrom);
    if (replay.resumed) return writeReplay(writer, replay.events, replay.lastId ?? resumeFrom);
    deps.logger.info({ sessionId, lastEventId: resumeFrom }, 'event stream: Last-Event-ID no longer in the log, bootstrapping again');
  }
  // The position is taken before the store is read: what is logged meanwhile is replayed after.
  const head = await deps.events.head(sessionId);
  if (query.deviceType === 'desktop') {
    try {
      const count = await writeDesktopBootstrap(deps, writer, sessionId, query);
      await writer.push(sseEvent('sync:complete', { count }, head));
    } catch (err) {
      deps.logger.error({ err, sessionId }, 'event stream: bootstrap failed');
      await writer.push(sseEvent('sync:error', { message: 'could not read the recent history; the live events follow' }));
    }
  }
  const replay = await deps.events.replayAfter(sessionId, head);
  return writeReplay(writer, replay.events, replay.lastId ?? head);
}

async function writeReplay(writer: SseWriter, events: { event: string; data: unknown; id: string }[], through: string): Promise<string> {
  for (const e of events) await writer.push(sseEvent(e.event, e.data, e.id));
  return through;
}

/** `Last-Event-ID` as EventSource sends it on reconnect; a malformed one is a 400 like the query. */
function lastEventId(req: FastifyRequest): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header !== 'string' || header === '') return undefined;
  if (!EventId.safeParse(header).success) throw new ApiError(400, 'bad_request', 'Last-Event-ID: must be an event id like 1700000000000-0');
  return header;
}
