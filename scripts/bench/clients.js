#!/usr/bin/env node
'use strict';
/**
 * Fan-out clients, in their own process so that the bench's own work does not delay them:
 * N WebSocket clients (join-session) and M SSE clients (GET …/events?deviceType=mobile, node's
 * http client) on one session. For every `sync_chats` event each client records when it
 * arrived; latency = arrival minus the event's log id time (when the server appended it, right
 * after the chat's commit). The bench may start several of these processes (one per core) and
 * merge their summaries (progress-clients.js).
 *
 *   node clients.js <baseUrl> <sessionId> <wsCount> <sseCount>
 * Talks to its parent over IPC: sends {type:'joined', ws, sse, sseStatus} when every client is
 * in, then {type:'summary', …} once every client saw the done event (or on {type:'finish'}).
 *
 * The per-delivery work is kept small so that 1,000,000 deliveries do not make this process the
 * one that sets the pace (it competes with the product for the same cores): frames stay Buffers,
 * an event's payload is decoded and JSON-parsed once per process (its first delivery), and every
 * later delivery of the same id is checked to be byte-identical to that first one instead.
 */
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const WebSocket = require('ws');

const [baseUrl, sessionId, wsCountRaw, sseCountRaw] = process.argv.slice(2);
const WS_COUNT = Number(wsCountRaw);
// A key or session token (BENCH_TOKEN), sent as `?token=` on WS and SSE as a browser would.
const TOKEN_QUERY = process.env.BENCH_TOKEN ? `token=${encodeURIComponent(process.env.BENCH_TOKEN)}` : '';
const SSE_COUNT = Number(sseCountRaw);
const now = () => performance.timeOrigin + performance.now();

/** Latency histogram in 0.1 ms steps: exact enough for p50/p99 and mergeable across processes. */
const histogram = new Map();
let deliveries = 0;
/** Deliveries whose bytes differed from the first delivery of the same id (must stay 0). */
let mismatches = 0;
let checked = 0;
/**
 * Per log id (as a number, see idKey): the event's append time, its first payload per transport,
 * whether it is the done event, and first/last arrival over this process's clients.
 */
const events = new Map();
let doneClients = 0;
let totalClients = 0;

const SYNC_CHATS_WS = Buffer.from('{"event":"sync_chats"');
const JOINED_WS = Buffer.from('{"event":"joined"');
const ID_WS = Buffer.from(',"id":"');
const EVENT_SSE = Buffer.from('\nevent: sync_chats\n');
const DATA_SSE = Buffer.from('data: ');

/** `<ms>-<seq>` bytes → ms·1000 + seq (exact in a double), without making a string. */
function idKey(buf, start, end) {
  let ms = 0;
  let i = start;
  for (; i < end && buf[i] !== 0x2d; i++) ms = ms * 10 + (buf[i] - 48);
  let seq = 0;
  for (i++; i < end; i++) seq = seq * 10 + (buf[i] - 48);
  if (seq >= 1000) throw new Error(`log id sequence ${seq} too large for the bench's key`);
  return { key: ms * 1000 + seq, ms };
}

/**
 * One delivery of event `key` (bytes buf[start, end) are what identifies it on this transport):
 * returns true when it is the done event.
 */
function record(t, key, ms, buf, start, end, transport, parse) {
  let e = events.get(key);
  if (e === undefined) events.set(key, (e = { ms, min: t, max: t, n: 0, done: false, ws: null, sse: null }));
  const first = e[transport];
  if (first === null) {
    e[transport] = Buffer.from(buf.subarray(start, end));
    // Once per event and transport: it is a sync_chats of this session, and is it the done one?
    const data = parse(buf.toString('utf8', start, end));
    if (data.sessionId !== sessionId) throw new Error(`event for ${data.sessionId} on ${sessionId}'s clients`);
    e.done = data.done === true;
  } else if (first.length !== end - start || ((++checked & 15) === 0 && first.compare(buf, start, end) !== 0)) {
    // Every delivery's length, and the bytes of one in 16 (comparing all of them cost this
    // process ≈ 0.4 s of CPU per 500,000 deliveries).
    mismatches++;
  }
  if (t < e.min) e.min = t;
  if (t > e.max) e.max = t;
  e.n++;
  deliveries++;
  const bucket = Math.round((t - ms) * 10);
  histogram.set(bucket, (histogram.get(bucket) ?? 0) + 1);
  return e.done;
}

const parseWs = (s) => JSON.parse(s).data;
const parseSse = (s) => JSON.parse(s.slice(s.indexOf('\ndata: ') + 7));

function clientDone() {
  doneClients += 1;
  if (doneClients === totalClients) summary();
}

/** Whether `bytes` sit in buf at `at` (a JS loop: cheaper than a native call for a few bytes). */
function bytesAt(buf, at, bytes) {
  if (at < 0 || at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

/** Index of the `\n\n` that ends the block starting at `from`, or -1. */
function blockEnd(buf, from) {
  for (let i = buf.indexOf(0x0a, from); i !== -1; i = buf.indexOf(0x0a, i + 1)) if (buf[i + 1] === 0x0a) return i;
  return -1;
}

/** What a WebSocket client does with one text message (the payload is buf[start, end)). */
function wsMessageHandler(resolveJoined) {
  let joined = false;
  let done = false;
  return (buf, start, end, t) => {
    if (!joined && bytesAt(buf, start, JOINED_WS)) {
      joined = true;
      return resolveJoined();
    }
    if (!bytesAt(buf, start, SYNC_CHATS_WS)) return;
    // `"id"` is the frame's last field: `…,"id":"<ms>-<seq>"}`.
    const at = buf.lastIndexOf(ID_WS, end - 1);
    if (at < start) return;
    const { key, ms } = idKey(buf, at + ID_WS.length, end - 2);
    if (record(t, key, ms, buf, start, end, 'ws', parseWs) && !done) {
      done = true;
      clientDone();
    }
  };
}

/** With BENCH_CLIENTS=library: the `ws` package's client (about twice the CPU of the one below). */
function openWsLibrary() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws${TOKEN_QUERY ? `?${TOKEN_QUERY}` : ''}`, { perMessageDeflate: false, skipUTF8Validation: true });
    const onMessage = wsMessageHandler(() => resolve(ws));
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } })));
    ws.on('message', (raw) => onMessage(raw, 0, raw.length, now()));
  });
}

/** A masked client frame (RFC 6455 5.3), FIN set. */
function clientFrame(opcode, payload) {
  const length = payload.length;
  const head = length < 126 ? 2 : 4;
  if (length >= 65_536) throw new Error('client frames here are small');
  const frame = Buffer.allocUnsafe(head + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const mask = crypto.randomBytes(4);
  mask.copy(frame, head);
  for (let i = 0; i < length; i++) frame[head + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/**
 * A WebSocket client on a bare TCP socket: the HTTP/1.1 upgrade (Sec-WebSocket-Accept checked),
 * then RFC 6455 frames read straight from the socket's chunks: unmasked server frames, FIN set,
 * text messages, ping answered with pong, close. The `ws` package's client costs this process
 * about half as much again per message (a Writable per socket, an event per frame), which on a
 * machine shared with the product slowed the product down.
 */
function openWs() {
  if (process.env.BENCH_CLIENTS === 'library') return openWsLibrary();
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = http.request(`${baseUrl}/ws${TOKEN_QUERY ? `?${TOKEN_QUERY}` : ''}`, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
    });
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`GET /ws answered ${res.statusCode} instead of upgrading`)));
    req.on('upgrade', (res, socket, head) => {
      const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (res.headers['sec-websocket-accept'] !== accept) return reject(new Error('bad Sec-WebSocket-Accept'));
      socket.setNoDelay(true);
      const client = { terminate: () => socket.destroy() };
      const onMessage = wsMessageHandler(() => resolve(client));
      let rest = head.length ? head : null;
      const fail = (why) => {
        socket.destroy();
        reject(new Error(why));
        process.send({ type: 'error', message: `websocket client: ${why}` });
      };
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        const t = now();
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        rest = null;
        let at = 0;
        while (at + 2 <= buf.length) {
          const b0 = buf[at];
          const b1 = buf[at + 1];
          if (b1 & 0x80) return fail('masked frame from the server');
          let length = b1 & 0x7f;
          let headLength = 2;
          if (length === 126) {
            if (at + 4 > buf.length) break;
            length = buf.readUInt16BE(at + 2);
            headLength = 4;
          } else if (length === 127) {
            if (at + 10 > buf.length) break;
            length = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
            headLength = 10;
          }
          if (at + headLength + length > buf.length) break;
          const start = at + headLength;
          at = start + length;
          const opcode = b0 & 0x0f;
          if ((b0 & 0x80) === 0 || opcode === 0) return fail('fragmented message (the server sends whole frames)');
          if (opcode === 1) onMessage(buf, start, at, t);
          else if (opcode === 9) socket.write(clientFrame(0xa, buf.subarray(start, at)));
          else if (opcode === 8) return socket.end();
        }
        if (at < buf.length) rest = buf.subarray(at);
      });
      socket.write(clientFrame(1, Buffer.from(JSON.stringify({ event: 'join-session', data: { sessionId } }))));
      if (rest) socket.emit('data', Buffer.alloc(0));
    });
    req.end();
  });
}

/**
 * What an SSE client does with its response body: `(bytes, arrival time)`. Blocks end with a
 * blank line; the server writes `id:`, `event:`, `data:` (one line of JSON) in that order.
 */
function sseBodyReader(onConnected) {
  let rest = null;
  let connected = false;
  let done = false;
  return (chunk, t) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = null;
    if (!connected && buf.includes('event: connected\n')) {
      connected = true;
      onConnected();
    }
    let start = 0;
    let end;
    while ((end = blockEnd(buf, start)) !== -1) {
      const blockStart = start;
      start = end + 2;
      if (buf[blockStart] !== 0x69 /* i */ || buf[blockStart + 1] !== 0x64 /* d */) continue;
      const idEnd = buf.indexOf(0x0a, blockStart);
      if (!bytesAt(buf, idEnd, EVENT_SSE) || !bytesAt(buf, idEnd + EVENT_SSE.length, DATA_SSE)) continue;
      const { key, ms } = idKey(buf, blockStart + 4, idEnd);
      if (record(t, key, ms, buf, blockStart, end, 'sse', parseSse) && !done) {
        done = true;
        clientDone();
      }
    }
    if (start < buf.length) rest = buf.subarray(start);
  };
}

const SSE_PATH = `/whatsapp-web/session/${sessionId}/events?deviceType=mobile${TOKEN_QUERY ? `&${TOKEN_QUERY}` : ''}`;

/**
 * Resolves with the response status once the stream is open (or refused): open once the server
 * says `connected` (it may subscribe after the headers), or after 5 s.
 */
function openSse() {
  if (process.env.BENCH_CLIENTS === 'library') return openSseLibrary();
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.setNoDelay(true);
    socket.on('error', reject);
    const stream = { destroy: () => socket.destroy() };
    const fallback = setTimeout(() => resolve({ status: 200, req: stream }), 5000);
    const read = sseBodyReader(() => {
      clearTimeout(fallback);
      resolve({ status: 200, req: stream });
    });
    let head = null; // bytes until the end of the response head
    let rest = null; // chunked body bytes not yet framed
    socket.on('data', (data) => {
      const t = now();
      let buf = data;
      if (head !== false) {
        buf = head ? Buffer.concat([head, data]) : data;
        const endOfHead = buf.indexOf('\r\n\r\n');
        if (endOfHead === -1) return void (head = buf);
        const lines = buf.toString('latin1', 0, endOfHead).split('\r\n');
        const status = Number(lines[0].split(' ')[1]);
        if (status !== 200) {
          socket.destroy();
          return resolve({ status });
        }
        if (!lines.some((l) => /^transfer-encoding:\s*chunked$/i.test(l))) {
          socket.destroy();
          return reject(new Error('SSE response is not chunked'));
        }
        head = false;
        buf = buf.subarray(endOfHead + 4);
      }
      // HTTP/1.1 chunked framing: `<hex>\r\n<bytes>\r\n`; the server writes one chunk per flush.
      if (rest) buf = Buffer.concat([rest, buf]);
      rest = null;
      let at = 0;
      while (at < buf.length) {
        const lineEnd = buf.indexOf(0x0d, at);
        if (lineEnd === -1 || lineEnd + 1 >= buf.length) break;
        let size = 0;
        for (let i = at; i < lineEnd; i++) {
          const c = buf[i] | 0x20;
          size = size * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
        }
        if (size === 0) return socket.end();
        if (lineEnd + 2 + size + 2 > buf.length) break;
        read(buf.subarray(lineEnd + 2, lineEnd + 2 + size), t);
        at = lineEnd + 2 + size + 2;
      }
      if (at < buf.length) rest = buf.subarray(at);
    });
    socket.write(`GET ${SSE_PATH} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nConnection: keep-alive\r\n\r\n`);
  });
}

/** With BENCH_CLIENTS=library: node's http client (≈ 1.5× the CPU of the one above). */
function openSseLibrary() {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${SSE_PATH}`, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve({ status: res.statusCode });
      }
      const fallback = setTimeout(() => resolve({ status: 200, req }), 5000);
      const read = sseBodyReader(() => {
        clearTimeout(fallback);
        resolve({ status: 200, req });
      });
      res.on('data', (chunk) => read(chunk, now()));
    });
    req.on('error', reject);
  });
}

const sockets = [];
let cpuAtJoin = null;
let wallAtJoin = 0;
const streams = [];
let sseStatus = null;

async function main() {
  for (let i = 0; i < WS_COUNT; i += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, WS_COUNT - i) }, openWs))));
  }
  if (SSE_COUNT > 0) {
    const first = await openSse();
    sseStatus = first.status;
    if (first.status === 200) {
      streams.push(first.req);
      for (let i = 1; i < SSE_COUNT; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, SSE_COUNT - i) }, openSse));
        streams.push(...batch.filter((b) => b.status === 200).map((b) => b.req));
      }
    }
  }
  totalClients = sockets.length + streams.length;
  cpuAtJoin = process.cpuUsage();
  wallAtJoin = performance.now();
  process.send({ type: 'joined', ws: sockets.length, sse: streams.length, sseStatus });
}

let summarized = false;
function summary() {
  if (summarized) return;
  summarized = true;
  // How busy this process was while receiving: near 100% means it, not the server, set the pace.
  const cpu = cpuAtJoin ? process.cpuUsage(cpuAtJoin) : null;
  const wallMs = performance.now() - wallAtJoin;
  process.send({
    type: 'summary',
    ws: sockets.length,
    sse: streams.length,
    sseStatus,
    clientsDone: doneClients,
    deliveries,
    mismatches,
    histogram: [...histogram],
    arrivals: [...events].map(([key, e]) => [key, e.min, e.max, e.n]),
    cpuMs: cpu ? (cpu.user + cpu.system) / 1000 : null,
    wallMs,
  });
  for (const s of sockets) s.terminate();
  for (const r of streams) r.destroy();
  setTimeout(() => process.exit(0), 100);
}

process.on('message', (m) => {
  if (m?.type === 'finish') summary();
});
main().catch((err) => {
  process.send({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
});
