import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** A request must arrive whole (headers and body) within this long, or its connection is closed (408). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection is closed after this long (Fastify's default is 72 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Node's HTTP server options for the timeouts above: headersTimeout and requestTimeout, checked
 * every second (Node checks every 30 s by default, so a silent connection could live 40 s).
 */
export function serverTimeouts(requestTimeoutMs = REQUEST_TIMEOUT_MS) {
  return {
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout: requestTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs) },
  };
}

/**
 * Closes a connection that has not sent a request's headers within `ms` of connecting. Node's
 * headersTimeout only covers a request that has begun: a connection that sends nothing at all
 * would otherwise stay open (20,000 of them filled the API's file limit).
 */
export function closeSilentConnections(app: FastifyInstance, ms = REQUEST_TIMEOUT_MS): void {
  const waiting = new WeakMap<Socket, NodeJS.Timeout>();
  const served = (socket: Socket): void => {
    const timer = waiting.get(socket);
    if (timer) clearTimeout(timer);
    waiting.delete(socket);
  };
  app.server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    waiting.set(socket, timer);
    socket.once('close', () => served(socket));
  });
  app.server.on('request', (req: { socket: Socket }) => served(req.socket));
  app.server.on('upgrade', (req: { socket: Socket }) => served(req.socket));
}

/**
 * At most `maxPerIp` connections per client address that have not authenticated yet (no request
 * with a valid key or token): one more evicts that address's oldest such connection, so a flood of
 * idle connections from one address holds a bounded number of file descriptors while a new client
 * (a health probe from the same host) still gets in. A connection counts until it authenticates or
 * closes; authenticated ones (streams, sockets) are never capped.
 */
export function capPendingConnections(app: FastifyInstance, maxPerIp: number): void {
  const pending = new Map<string, Set<Socket>>();
  const addressOf = new WeakMap<Socket, string>();

  const release = (socket: Socket): void => {
    const ip = addressOf.get(socket);
    if (ip === undefined) return;
    addressOf.delete(socket);
    const set = pending.get(ip);
    set?.delete(socket);
    if (set?.size === 0) pending.delete(ip);
  };

  app.server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    let set = pending.get(ip);
    if (!set) pending.set(ip, (set = new Set()));
    if (set.size >= maxPerIp) {
      const oldest = set.values().next().value as Socket;
      release(oldest);
      oldest.destroy();
    }
    set.add(socket);
    addressOf.set(socket, ip);
    socket.once('close', () => release(socket));
  });

  // After the access hook: a request that carried a valid key or token frees its connection.
  app.addHook('onRequest', async (req) => {
    if (req.principal) release(req.raw.socket);
  });
}
