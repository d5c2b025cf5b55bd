#!/usr/bin/env node
/**
 * Stream benchmark (issue 9): the API as its own process on a private Redis and a SQLite store
 * seeded with `--chats` × `--messages`; this process is the clients.
 *  1. SSE desktop bootstrap: time from the request to `sync:complete` (and its size), and
 *     `GET …/messages/recent` plain, gzip and br.
 *  2. Live delivery: `--sse` SSE streams (and `--ws` WebSockets) on one session; `--events` events
 *     appended to the log; the latency of each event to each client, p50/p99/max.
 *
 *   npm run build && node scripts/bench-stream.js --chats 2000 --messages 50 --sse 1000 --ws 0
 *
 * Prints figures; asserts nothing.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const { freePort, percentile } = require('./bench/util');

const root = path.resolve(__dirname, '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const CHATS = Number(args.chats ?? 2000);
const MESSAGES = Number(args.messages ?? 50);
const SSE = Number(args.sse ?? 1000);
const WS = Number(args.ws ?? 0);
const EVENTS = Number(args.events ?? 200);
const RATE = Number(args.rate ?? 50); // events per second
const SESSION = 'bench';

const { SqliteStore } = require(path.join(root, 'packages/shared/dist/store/sqlite.store'));
const { EventLog, createRedis } = require(path.join(root, 'packages/shared/dist'));


/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}


async function waitUntil(what, probe, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startRedis(port) {
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'wa-sync-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await waitUntil('redis', () => out.includes('Ready to accept connections'), 10_000);
  return child;
}

async function seed(file) {
  const store = new SqliteStore(file);
  await store.init();
  await store.ensureSession(SESSION);
  const now = Date.now();
  const start = performance.now();
  for (let c = 0; c < CHATS; c++) {
    const chatId = `${100000 + c}@c.us`;
    const newest = now - c * 60_000;
    await store.upsertChats(SESSION, [{ id: chatId, name: `Chat ${c}`, isGroup: false, unreadCount: 0, lastMessageAt: new Date(newest).toISOString() }]);
    const messages = [];
    for (let m = 0; m < MESSAGES; m++) {
      messages.push({
        id: `false_${chatId}_${String(m).padStart(6, '0')}`, chatId, fromMe: m % 2 === 0, author: null,
        body: `message ${m} of chat ${c}: some ordinary text of ordinary length`, type: 'chat',
        timestamp: new Date(newest - (MESSAGES - m) * 1000).toISOString(), ack: 2, hasMedia: false,
      });
    }
    await store.upsertMessages(SESSION, chatId, messages);
  }
  await store.close();
  return (performance.now() - start) / 1000;
}

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ ms: performance.now() - start, bytes: Buffer.concat(chunks).length, status: res.statusCode }));
    }).on('error', reject);
  });
}

/** Opens a desktop SSE stream and resolves at `sync:complete` with the time and the bytes read. */
function bootstrap(base) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let bytes = 0;
    let tail = '';
    let syncs = 0;
    const req = http.get(`${base}/whatsapp-web/session/${SESSION}/events?deviceType=desktop&days=7&limit=${Math.min(MESSAGES, 100)}`, (res) => {
      res.setEncoding('utf8');
      let firstAt;
      res.on('data', (chunk) => {
        firstAt ??= performance.now() - start;
        bytes += Buffer.byteLength(chunk);
        const text = tail + chunk;
        syncs += (text.match(/\nevent: message:sync\n/g) || []).length - (tail.match(/\nevent: message:sync\n/g) || []).length;
        tail = text.slice(-64);
        if (text.includes('event: sync:complete')) {
          resolve({ ms: performance.now() - start, firstMs: firstAt, bytes, syncs });
          req.destroy();
        }
      });
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-stream-'));
  const redisPort = await freePort();
  const apiPort = await freePort();
  const redisProc = await startRedis(redisPort);
  let api;
  const sockets = [];
  const streams = [];
  try {
    const seedS = await seed(path.join(dir, 'bench.db'));
    console.log(`seeded ${CHATS} chats x ${MESSAGES} messages in ${seedS.toFixed(1)} s`);
    api = spawn(process.execPath, [path.join(root, 'services/api/dist/main.js')], {
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, STORE_URL: `sqlite:${path.join(dir, 'bench.db')}`, PORT: String(apiPort), LOG_LEVEL: 'warn', API_KEY: undefined },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const base = `http://127.0.0.1:${apiPort}`;
    await waitUntil('the API', () => get(`${base}/healthz`).then((r) => r.status === 200, () => false));

    // 1. Bootstrap.
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await bootstrap(base));
    const b = runs.sort((x, y) => x.ms - y.ms)[1];
    console.log(`SSE desktop bootstrap (${CHATS} chats x ${MESSAGES}): ${b.syncs} message:sync, ${(b.bytes / 1048576).toFixed(1)} MiB, ` +
      `first byte ${b.firstMs.toFixed(0)} ms, sync:complete after ${b.ms.toFixed(0)} ms (median of 3: ${runs.map((r) => r.ms.toFixed(0)).join(', ')})`);
    for (const enc of ['identity', 'gzip', 'br']) {
      const r = await get(`${base}/whatsapp-web/session/${SESSION}/messages/recent?days=7&limit=${Math.min(MESSAGES, 100)}`, { 'accept-encoding': enc });
      console.log(`GET …/messages/recent (${enc}): ${r.status}, ${(r.bytes / 1048576).toFixed(2)} MiB in ${r.ms.toFixed(0)} ms`);
    }

    // 2. Live delivery.
    const latencies = [];
    let received = 0;
    const onEvent = (body) => {
      const sent = Number(/@(\d+\.\d+)/.exec(body)?.[1]);
      latencies.push(performance.timeOrigin + performance.now() - sent);
      received++;
    };
    for (let i = 0; i < WS; i++) {
      const socket = new WebSocket(`ws://127.0.0.1:${apiPort}/ws`);
      sockets.push(socket);
      socket.on('open', () => socket.send(JSON.stringify({ event: 'join-session', data: { sessionId: SESSION } })));
      socket.on('message', (raw) => {
        const f = JSON.parse(raw);
        if (f.event === 'message:new') onEvent(f.data.body);
      });
    }
    let connected = 0;
    for (let i = 0; i < SSE; i++) {
      const req = http.get(`http://127.0.0.1:${apiPort}/whatsapp-web/session/${SESSION}/events?deviceType=mobile`, (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk) => {
          buffer += chunk;
          const blocks = buffer.split('\n\n');
          buffer = blocks.pop();
          for (const block of blocks) {
            if (block.includes('event: connected')) connected++;
            const m = /event: message:new\ndata: .*?"body":"([^"]*)"/.exec(block);
            if (m) onEvent(m[1]);
          }
        });
      });
      req.on('error', () => undefined);
      streams.push(req);
    }
    await waitUntil('every client', () => connected === SSE && sockets.every((s) => s.readyState === WebSocket.OPEN));
    await new Promise((r) => setTimeout(r, 1000));
    const redis = createRedis(`redis://127.0.0.1:${redisPort}`);
    const log = new EventLog(redis);
    const apiCpu0 = cpuSeconds(api.pid);
    const ownCpu0 = process.cpuUsage();
    const start = performance.now();
    for (let k = 0; k < EVENTS; k++) {
      const at = (performance.timeOrigin + performance.now()).toFixed(3);
      await log.append(SESSION, 'message:new', {
        sessionId: SESSION, id: `false_bench_${k}`, chatId: '100000@c.us', fromMe: false, author: null,
        body: `live #${k} @${at}`, type: 'chat', timestamp: new Date().toISOString(), ack: 1, hasMedia: false,
      });
      const due = start + ((k + 1) * 1000) / RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
    const expected = EVENTS * (SSE + WS);
    await waitUntil('every delivery', () => received >= expected, 60_000).catch(() => undefined);
    const wall = (performance.now() - start) / 1000;
    const apiCpu = cpuSeconds(api.pid) - apiCpu0;
    const own = process.cpuUsage(ownCpu0);
    latencies.sort((a, b) => a - b);
    console.log(`live delivery to ${SSE} SSE + ${WS} WS clients, ${EVENTS} events at ${RATE}/s: ${received}/${expected} delivered, ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1).toFixed(1)} ms; ` +
      `CPU over ${wall.toFixed(1)} s: API ${apiCpu.toFixed(1)} s, clients ${((own.user + own.system) / 1e6).toFixed(1)} s; load average ${os.loadavg()[0].toFixed(1)}`);
    redis.disconnect();
  } finally {
    for (const s of sockets) s.terminate();
    for (const s of streams) s.destroy();
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => api.once('exit', r));
    }
    redisProc.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
