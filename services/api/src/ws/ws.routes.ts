import { ClientEvents, ClientFrame, Keys, isClientEventName } from '@wa-sync/shared/contracts';
import type { WebSocket } from 'ws';
import type { ApiDeps } from '../api.deps';
import type { ApiPlugin } from '../app.types';
import { mayStream, OPEN, type Principal } from '../auth/access.policy';
import type { LiveFeed } from '../stream/live.feed';
import { unavailableReason } from '../error.handler';
import { currentSync } from '../sync-snapshot.reader';
import type { SessionWatch } from './session.watch';
import type { SocketHub } from './socket.hub';

/** Frames over this close the socket with 1009 (ws enforces it before buffering more). */
export const WS_MAX_PAYLOAD = 64 * 1024;
export const WS_PING_INTERVAL_MS = 30_000;
/** Close code of a socket whose token expired or was revoked (DESIGN "Access for end users"). */
export const WS_CLOSE_TOKEN = 4401;

/** `GET /ws`: `{ event, data }` frames; join a session to receive its events. */
export const wsRoutes: ApiPlugin = async (app) => {
  const { deps, socketHub: hub, liveFeed: feed, sessionWatch: watch } = app;
  hub.configure({ logger: deps.logger, maxBufferedBytes: deps.streamMaxBufferedBytes });
  hub.startHeartbeat(deps.wsPingIntervalMs ?? WS_PING_INTERVAL_MS);
  app.addHook('onClose', async () => hub.stopHeartbeat());
  app.route({
    method: 'GET',
    url: '/ws',
    // Documented by hand in openapi.ts.
    schema: { hide: true },
    // Any valid token may open the socket; `join-session` checks the `stream` scope of its session.
    config: { access: 'socket', queryToken: true },
    // A plain GET (no upgrade) gets an error in the usual shape instead of an empty 404.
    handler: (_req, reply) =>
      reply.status(426).header('upgrade', 'websocket').send({ error: { code: 'upgrade_required', message: 'GET /ws is a WebSocket: send Upgrade: websocket' } }),
    wsHandler: (socket: WebSocket, req) => {
    const principal = req.principal ?? OPEN;
    hub.add(socket);
    // A token's socket closes (4401) within seconds of the token's expiry or revocation.
    const untrack = app.streamAccess.track(socket, principal, (reason) => {
      hub.remove(socket);
      socket.close(WS_CLOSE_TOKEN, reason);
      setTimeout(() => socket.terminate(), 1_000).unref();
    });
    socket.on('close', () => {
      untrack();
      hub.remove(socket);
      watch.remove(socket);
    });
    // An oversized frame (1009) or a protocol error: ws closes the socket; only log it.
    socket.on('error', (err) => deps.logger.info({ err: err.message }, 'websocket closed on a bad frame'));
    socket.on('message', (raw) => {
      handleFrame(socket, principal, raw.toString(), deps, hub, feed, watch).catch((err) => {
        // Redis or the store down: the same codes REST answers with 503, and only a warning.
        const unavailable = unavailableReason(err);
        if (unavailable) {
          deps.logger.warn({ err: (err as Error).message, code: unavailable.code }, 'websocket frame: dependency unavailable');
          return hub.send(socket, 'error', { code: unavailable.code, message: unavailable.message });
        }
        deps.logger.error({ err }, 'websocket frame failed');
        hub.send(socket, 'error', { code: 'internal', message: 'could not handle the frame' });
      });
    });
    },
  });
};

async function handleFrame(
  socket: WebSocket,
  principal: Principal,
  raw: string,
  deps: ApiDeps,
  hub: SocketHub,
  feed: LiveFeed | undefined,
  watch: SessionWatch,
): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return hub.send(socket, 'error', { code: 'bad_frame', message: 'frame is not JSON' });
  }
  const frame = ClientFrame.safeParse(json);
  if (!frame.success) {
    return hub.send(socket, 'error', { code: 'bad_frame', message: 'frame must be { "event": string, "data": object }' });
  }
  const { event } = frame.data;
  // Own keys only: `constructor`, `__proto__`, `toString` are unknown events like any other name.
  if (!isClientEventName(event)) {
    return hub.send(socket, 'error', { code: 'unknown-event', message: `unknown event ${JSON.stringify(event.slice(0, 64))}; expected join-session, leave-session, watch-sessions or unwatch-sessions` });
  }
  const data = ClientEvents[event].safeParse(frame.data.data ?? {});
  if (!data.success) {
    const issue = data.error.issues[0];
    return hub.send(socket, 'error', { code: 'bad_request', message: `${event}: data.${issue.path.join('.')}: ${issue.message}` });
  }
  if (event === 'watch-sessions' || event === 'unwatch-sessions') {
    // Every session at once: the operator's key only, never a session token.
    if (principal.kind !== 'operator') return hub.send(socket, 'error', { code: 'forbidden', message: `${event} needs the operator key` });
    if (event === 'unwatch-sessions') {
      watch.remove(socket);
      return hub.send(socket, 'unwatched', {});
    }
    return watch.add(socket);
  }
  const { sessionId } = data.data as ClientEvents['leave-session'];
  if (event === 'leave-session') {
    hub.leave(socket, sessionId);
    return hub.send(socket, 'left', { sessionId });
  }
  // The `stream` scope of that session (any session with the operator key); the socket stays open.
  if (!mayStream(principal, sessionId)) {
    return hub.send(socket, 'error', { code: 'forbidden', message: `this token cannot join session ${sessionId}` });
  }
  const { since } = data.data as ClientEvents['join-session'];
  // Join first, holding live events back, then read: events published in between are either in
  // the replay or held back, never lost, and none reaches the client before `joined` (a `qr`
  // delivered first would be undone by a snapshot read just before it); stale progress is
  // dropped by the hub's currentChat check.
  hub.join(socket, sessionId, true);
  try {
    const [session, live, sync, head] = await Promise.all([
      deps.store.getSession(sessionId),
      deps.redis.hgetall(Keys.sessionLive(sessionId)),
      currentSync(deps, sessionId),
      // Where a gap in the subscription would be filled from, if no event came through yet.
      since === undefined && feed ? deps.events.head(sessionId) : null,
    ]);
    if (head) feed?.observe(sessionId, head);
    const status = session?.status ?? null;
    const joined = { sessionId, status, ...(status === 'qr' && live.qr ? { qr: live.qr, qrDataUrl: live.qrDataUrl } : {}), sync };
    if (since === undefined) {
      hub.send(socket, 'joined', joined);
      // No replay: everything held back since the join is newer than the snapshot or repeats it.
      return hub.release(socket, sessionId, null);
    }

    const replay = await deps.events.replayAfter(sessionId, since);
    hub.send(socket, 'joined', { ...joined, resumed: replay.resumed });
    for (const envelope of replay.events) hub.send(socket, envelope.event, envelope.data, envelope.id);
    // Not resumed: nothing replayed; everything held back since the join is new to the client.
    const through = replay.resumed ? (replay.lastId ?? since) : null;
    if (through) feed?.observe(sessionId, through);
    hub.release(socket, sessionId, through);
  } catch (err) {
    // The join failed: do not leave the socket holding events back for good.
    hub.leave(socket, sessionId);
    throw err;
  }
}
