#!/usr/bin/env node
'use strict';
/**
 * Fan-out clients, in their own process so that the bench's own work does not delay them:
 * N WebSocket clients (join-session) and M SSE clients (GET …/events?deviceType=mobile) on one
 * session. For every `sync_chats` event each client records when it arrived; latency = arrival
 * minus the event's log id time (when the server appended it, right after the chat's commit).
 *
 *   node clients.js <baseUrl> <sessionId> <wsCount> <sseCount>
 * Talks to its parent over IPC: sends {type:'joined', ws, sse, sseStatus} when every client is
 * in, then {type:'summary', …} once every client saw the done event (or on {type:'finish'}).
 */
const http = require('node:http');
const WebSocket = require('ws');

const [baseUrl, sessionId, wsCountRaw, sseCountRaw] = process.argv.slice(2);
const WS_COUNT = Number(wsCountRaw);
const SSE_COUNT = Number(sseCountRaw);
const now = () => performance.timeOrigin + performance.now();

const latencies = [];
/** Per log id: first and last arrival over all clients. */
const arrivals = new Map();
let doneClients = 0;
let totalClients = 0;

function record(id) {
  const t = now();
  latencies.push(t - Number(id.split('-')[0]));
  const a = arrivals.get(id);
  if (a) {
    if (t < a.min) a.min = t;
    if (t > a.max) a.max = t;
    a.n += 1;
  } else arrivals.set(id, { min: t, max: t, n: 1 });
}

function clientDone() {
  doneClients += 1;
  if (doneClients === totalClients) summary();
}

function openWs() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws`, { perMessageDeflate: false });
    let done = false;
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } })));
    ws.on('message', (raw) => {
      const s = raw.toString();
      if (s.startsWith('{"event":"joined"')) return resolve(ws);
      if (!s.includes('"event":"sync_chats"')) return;
      const at = s.lastIndexOf('"id":"');
      if (at !== -1) record(s.slice(at + 6, s.indexOf('"', at + 6)));
      if (!done && s.includes('"done":true')) {
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
      res.setEncoding('utf8');
      let buf = '';
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
        buf += chunk.replace(/\r/g, '');
        if (!opened && /^event: ?connected$/m.test(buf)) open();
        let end;
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!block.includes('event: sync_chats') && !block.includes('event:sync_chats')) continue;
          const m = /^id: ?(.+)$/m.exec(block);
          if (m) record(m[1].trim());
          if (!done && block.includes('"done":true')) {
            done = true;
            clientDone();
          }
        }
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
  const busyShare = cpu ? (cpu.user + cpu.system) / 1000 / (performance.now() - wallAtJoin) : null;
  latencies.sort((a, b) => a - b);
  const spreads = [...arrivals.values()].map((a) => a.max - a.min).sort((a, b) => a - b);
  const pct = (arr, p) => (arr.length ? arr[Math.min(arr.length - 1, Math.max(0, Math.ceil((p / 100) * arr.length) - 1))] : null);
  process.send({
    type: 'summary',
    ws: sockets.length,
    sse: streams.length,
    sseStatus,
    clientsDone: doneClients,
    deliveries: latencies.length,
    events: arrivals.size,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: latencies.at(-1) ?? null,
    spreadP50: pct(spreads, 50),
    spreadP99: pct(spreads, 99),
    clientCpuShare: busyShare,
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
