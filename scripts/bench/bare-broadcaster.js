#!/usr/bin/env node
'use strict';
/**
 * The fan-out baseline of issue 25: the least a server can do to deliver the product's events.
 * It subscribes to the same Redis pub/sub channel the API reads (Keys.eventsChannel, fed by the
 * event log's append script) and writes every event of a session to the clients that joined it:
 * WebSockets through the `ws` package (`join-session` → `joined`, then `{event,data,id}` text
 * frames) and SSE through node's http (`id:`/`event:`/`data:` lines on a chunked response).
 * The bytes are the API's, so clients.js measures both the same way. Nothing else: no schema
 * check, no auth, no replay, no ordering guard, no back-pressure. Each event is serialized once
 * per transport and that buffer written to every client.
 *
 *   node bare-broadcaster.js <redisUrl>
 * Listens on a free loopback port and tells its parent {type:'listening', port} over IPC.
 */
const http = require('node:http');
const Redis = require('ioredis');
const { WebSocketServer } = require('ws');

// Keys.eventsChannel (packages/shared/src/redis.keys.ts): what the API subscribes to.
const EVENTS_CHANNEL = 'wa-sync:events';
const SSE_PATH = /^\/whatsapp-web\/session\/([^/?]+)\/events(?:\?|$)/;

/** sessionId → its WebSocket and SSE clients. */
const rooms = new Map();
const room = (sessionId) => {
  let r = rooms.get(sessionId);
  if (!r) rooms.set(sessionId, (r = { ws: new Set(), sse: new Set() }));
  return r;
};

const server = http.createServer((req, res) => {
  const m = SSE_PATH.exec(req.url);
  if (!m || req.method !== 'GET') {
    res.writeHead(404).end();
    return;
  }
  const sessionId = decodeURIComponent(m[1]);
  const deviceType = new URL(req.url, 'http://x').searchParams.get('deviceType') ?? 'mobile';
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(`retry: 2000\n\nevent: connected\ndata: ${JSON.stringify({ sessionId, deviceType })}\n\n`);
  const clients = room(sessionId).sse;
  clients.add(res);
  req.on('close', () => clients.delete(res));
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket._socket?.setNoDelay(true);
  const joined = new Set();
  socket.on('message', (raw) => {
    let frame;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const sessionId = frame?.data?.sessionId;
    if (frame?.event !== 'join-session' || typeof sessionId !== 'string') return;
    room(sessionId).ws.add(socket);
    joined.add(sessionId);
    socket.send(JSON.stringify({ event: 'joined', data: { sessionId, sync: null } }));
  });
  socket.on('close', () => {
    for (const sessionId of joined) rooms.get(sessionId)?.ws.delete(socket);
  });
  socket.on('error', () => {});
});

function broadcast(raw) {
  let e;
  try {
    e = JSON.parse(raw);
  } catch {
    return;
  }
  const r = rooms.get(e.sessionId);
  if (!r) return;
  if (r.ws.size) {
    const frame = Buffer.from(JSON.stringify({ event: e.event, data: e.data, id: e.id }));
    for (const socket of r.ws) if (socket.readyState === socket.OPEN) socket.send(frame, { binary: false });
  }
  if (r.sse.size) {
    const block = Buffer.from(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    for (const res of r.sse) res.write(block);
  }
}

async function main() {
  const [redisUrl] = process.argv.slice(2);
  const sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
  sub.on('message', (channel, raw) => channel === EVENTS_CHANNEL && broadcast(raw));
  await sub.subscribe(EVENTS_CHANNEL);
  server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));
}

process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  process.send?.({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
});
