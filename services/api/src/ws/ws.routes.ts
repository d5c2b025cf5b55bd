import type { FastifyInstance } from 'fastify';
import { ClientEvents, ClientFrame, Keys, type ClientEventName } from '@wa-sync/shared';
import type { WebSocket } from 'ws';
import type { ApiDeps } from '../deps';
import { currentSync } from '../sync-snapshot';
import type { SocketHub } from './socket-hub';

/** `GET /ws`: `{ event, data }` frames; join a session to receive its events. */
export async function wsRoutes(app: FastifyInstance, deps: ApiDeps, hub: SocketHub): Promise<void> {
  app.route({
    method: 'GET',
    url: '/ws',
    // Documented by hand in openapi.ts.
    schema: { hide: true },
    // A plain GET (no upgrade) gets an error in the usual shape instead of an empty 404.
    handler: (_req, reply) =>
      reply.status(426).header('upgrade', 'websocket').send({ error: { code: 'upgrade_required', message: 'GET /ws is a WebSocket: send Upgrade: websocket' } }),
    wsHandler: (socket: WebSocket) => {
    hub.add(socket);
    socket.on('close', () => hub.remove(socket));
    socket.on('message', (raw) => {
      handleFrame(socket, raw.toString(), deps, hub).catch((err) => {
        deps.logger.error({ err }, 'websocket frame failed');
        hub.send(socket, 'error', { code: 'internal', message: 'could not handle the frame' });
      });
    });
    },
  });
}

async function handleFrame(socket: WebSocket, raw: string, deps: ApiDeps, hub: SocketHub): Promise<void> {
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
  if (!(event in ClientEvents)) {
    return hub.send(socket, 'error', { code: 'unknown_event', message: `unknown event "${event}"; expected join-session or leave-session` });
  }
  const data = ClientEvents[event as ClientEventName].safeParse(frame.data.data ?? {});
  if (!data.success) {
    const issue = data.error.issues[0];
    return hub.send(socket, 'error', { code: 'bad_request', message: `${event}: data.${issue.path.join('.')}: ${issue.message}` });
  }
  const { sessionId } = data.data;
  if (event === 'leave-session') {
    hub.leave(socket, sessionId);
    return hub.send(socket, 'left', { sessionId });
  }
  // Join first, then read the snapshot: events in between are not lost, and stale ones are
  // dropped by the hub's currentChat check.
  hub.join(socket, sessionId);
  const [session, live, sync] = await Promise.all([
    deps.store.getSession(sessionId),
    deps.redis.hgetall(Keys.sessionLive(sessionId)),
    currentSync(deps, sessionId),
  ]);
  const status = session?.status ?? null;
  hub.send(socket, 'joined', {
    sessionId,
    status,
    ...(status === 'qr' && live.qr ? { qr: live.qr, qrDataUrl: live.qrDataUrl } : {}),
    sync,
  });
}
