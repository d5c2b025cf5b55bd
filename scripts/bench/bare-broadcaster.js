#!/usr/bin/env node
'use strict';
/**
 * The fan-out baseline of issue 25: the least a server can do to deliver the product's events.
 * It subscribes to the same Redis pub/sub channel the API reads (Keys.eventsChannel, fed by the
 * event log's append script) and writes every event of a session to the clients that joined it:
 * WebSockets through the `ws` package (`join-session` → `joined`, then `{event,data,id}` text
 * frames) and SSE through node's http (`id:`/`event:`/`data:` lines on a chunked response).
 * The bytes are the API's, so clients.js measures both the same way. Nothing else: no schema
 * check, no auth, no replay, no ordering guard, no back-pressure. How it writes (BARE_MODE):
 *
 * - `framed` (default, the baseline): each event is framed once per transport (a complete
 *   WebSocket text frame; an HTTP/1.1 chunk of SSE lines) and that buffer written to every
 *   client's TCP socket, corked for the rest of the event-loop turn, so the events of one Redis
 *   read leave in one write per client. The least work per delivery, and the same technique the
 *   API uses (stream/turn.batch.ts): what the API adds on top is its own logic.
 * - `ws`: `ws.send` and `res.write` per client and event, sockets corked per turn likewise.
 * - `naive`: the same without corking: one write per event per client (1,000,000 writes for
 *   2,000 clients and 500 events: p99 14 s on this machine).
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

const MODE = process.env.BARE_MODE ?? 'framed';
if (!['framed', 'ws', 'naive'].includes(MODE)) throw new Error(`BARE_MODE: framed, ws or naive, not ${MODE}`);
/** Streams corked this turn; uncorked together once the turn's events are written. */
const corked = new Set();
function cork(stream) {
  if (MODE === 'naive' || !stream || corked.has(stream)) return;
  if (corked.size === 0) {
    setImmediate(() => {
      for (const s of corked) s.uncork();
      corked.clear();
    });
  }
  stream.cork();
  corked.add(stream);
}

/** A server's WebSocket text frame (RFC 6455: FIN, opcode 1, unmasked) around `payload`. */
function wsTextFrame(payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65_536 ? Buffer.from([0x81, 126, n >> 8, n & 0xff]) : null;
  if (!head) {
    const big = Buffer.alloc(10);
    big[0] = 0x81;
    big[1] = 127;
    big.writeBigUInt64BE(BigInt(n), 2);
    return Buffer.concat([big, payload]);
  }
  return Buffer.concat([head, payload]);
}

/** One HTTP/1.1 chunk, as node's response frames each write of a chunked body. */
const httpChunk = (body) => Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]);

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
    const payload = Buffer.from(JSON.stringify({ event: e.event, data: e.data, id: e.id }));
    const frame = MODE === 'framed' ? wsTextFrame(payload) : null;
    for (const socket of r.ws) {
      if (socket.readyState !== socket.OPEN) continue;
      const tcp = socket._socket;
      cork(tcp);
      // ws itself corks around each frame it writes: ours keeps the socket corked for the turn.
      if (frame) tcp.write(frame);
      else socket.send(payload, { binary: false });
    }
  }
  if (r.sse.size) {
    const block = Buffer.from(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    const chunk = MODE === 'framed' ? httpChunk(block) : null;
    for (const res of r.sse) {
      if (chunk) {
        cork(res.socket);
        res.socket.write(chunk);
      } else {
        cork(res);
        res.write(block);
      }
    }
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
