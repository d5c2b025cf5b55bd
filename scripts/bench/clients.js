#!/usr/bin/env node
'use strict';
/**
 * Fan-out clients, in their own process so that the bench's own work does not delay them:
 * N WebSocket clients (`ws`, join-session) and M SSE clients (GET …/events?deviceType=mobile,
 * node's http client) on one session. For every `sync_chats` event each client records when it
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
const http = require('node:http');
const WebSocket = require('ws');

const [baseUrl, sessionId, wsCountRaw, sseCountRaw] = process.argv.slice(2);
const WS_COUNT = Number(wsCountRaw);
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

const startsWith = (buf, prefix) => bytesAt(buf, 0, prefix);

/** Index of the `\n\n` that ends the block starting at `from`, or -1. */
function blockEnd(buf, from) {
  for (let i = buf.indexOf(0x0a, from); i !== -1; i = buf.indexOf(0x0a, i + 1)) if (buf[i + 1] === 0x0a) return i;
  return -1;
}

function openWs() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws`, { perMessageDeflate: false, skipUTF8Validation: true });
    let joined = false;
    let done = false;
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } })));
    ws.on('message', (raw) => {
      if (!joined && raw.toString().startsWith('{"event":"joined"')) {
        joined = true;
        return resolve(ws);
      }
      if (!startsWith(raw, SYNC_CHATS_WS)) return;
      // `"id"` is the frame's last field: `…,"id":"<ms>-<seq>"}`.
      const at = raw.lastIndexOf(ID_WS);
      if (at === -1) return;
      const t = now();
      const { key, ms } = idKey(raw, at + ID_WS.length, raw.length - 2);
      if (record(t, key, ms, raw, 0, raw.length, 'ws', parseWs) && !done) {
        done = true;
        clientDone();
      }
    });
  });
}

/** Resolves with the response status once the stream is open (or refused). */
function openSse() {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/whatsapp-web/session/${sessionId}/events?deviceType=mobile`, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve({ status: res.statusCode });
      }
      let rest = null;
      let done = false;
      // Open once the server says `connected` (it may subscribe after the headers), or after 5 s.
      let opened = false;
      const open = () => {
        if (opened) return;
        opened = true;
        clearTimeout(fallback);
        resolve({ status: 200, req });
      };
      const fallback = setTimeout(open, 5000);
      res.on('data', (chunk) => {
        const t = now();
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        rest = null;
        if (!opened && buf.includes('event: connected\n')) open();
        // Blocks end with a blank line; the server writes `id:`, `event:`, `data:` in that order.
        // Lines end with \n (data is one line of JSON); a block ends with an empty line.
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
      });
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
