'use strict';
/**
 * Two same-run comparisons of the progress fan-out (the `progress` part measures the API alone):
 *
 * - `baseline` (issue 25 item 2): the same sync (a product of the same size on its own Redis),
 *   the same numbers of WS and SSE clients in the same client processes (clients.js), but joined
 *   to bare-broadcaster.js, which relays the same Redis channel with the same bytes and nothing
 *   else (BARE_MODE picks how it writes; see there). The API runs too (it serves the session's creation and has no clients). Its p99 and
 *   spread are what delivering these events to these clients costs on this machine at the least.
 *
 * - `tokens` (issue 23): the product with API_KEY set, the same sync and clients twice: every
 *   client with the operator key (`?token=<key>`), then every client with a session token minted
 *   for the session (`stream` scope). The session must exist before minting, so both runs create
 *   it first and the simulated phone links SIM_AUTO_SCAN_MS later, once the clients are in.
 */
const { fork } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { startClients } = require('./progress-clients');
const { logHead, timeSync, LOG_KEY } = require('./product');
const { round, ratio, median } = require('./util');

/** Rounds of the token comparison at full size (each a key run and a token run). */
const TOKEN_ROUNDS = 3;

/** Starts bare-broadcaster.js on `redisUrl`; resolves once it listens. */
function startBroadcaster(redisUrl) {
  const child = fork(path.join(__dirname, 'bare-broadcaster.js'), [redisUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare broadcaster exited with ${code}`)));
    child.on('message', (m) => {
      if (m.type === 'error') reject(new Error(m.message));
      if (m.type === 'listening') {
        resolve({
          url: `http://127.0.0.1:${m.port}`,
          pid: child.pid,
          stop: () => child.exitCode === null && child.kill(),
        });
      }
    });
  });
}

/** Waits for every client's summary (or takes what arrived after the grace time), then stops them. */
async function collect(ctx, clients) {
  const timer = setTimeout(clients.finish, ctx.quick ? 30_000 : 180_000);
  try {
    return await clients.summary();
  } finally {
    clearTimeout(timer);
  }
}

const view = (s, sync) => ({
  clients: { ws: s.ws, sse: s.sse },
  p50Ms: round(s.p50, 1),
  p99Ms: round(s.p99, 1),
  maxMs: round(s.max, 1),
  spreadP50Ms: round(s.spreadP50, 1),
  spreadP99Ms: round(s.spreadP99, 1),
  deliveries: s.deliveries,
  events: s.events,
  mismatches: s.mismatches,
  clientsDone: s.clientsDone,
  syncSeconds: round(sync.seconds, 2),
  clientProcessCpuShares: s.clientCpuShares.map((x) => round(x, 2)),
});

/** A note when not every client got the done event (the latencies are then a lower bound). */
function checkDone(s, field, reasons) {
  if (s.clientsDone < s.ws + s.sse) reasons[field] = `only ${s.clientsDone} of ${s.ws + s.sse} clients received the done event in time: the latencies are a lower bound`;
  if (s.sse === 0 && s.sseStatus !== null && s.sseStatus !== 200) reasons[field] = `SSE answered ${s.sseStatus}: WebSocket clients only`;
}

async function baseline(ctx) {
  const { sizes, result, reasons, extra } = ctx;
  const run = await ctx.withProduct(ctx.simEnv(sizes.progressChats, sizes.messages), async (product, redis) => {
    const bare = await startBroadcaster(redis.url);
    try {
      const clients = startClients({ url: bare.url, sessionId: ctx.session, ws: sizes.ws, sse: sizes.sse, processes: ctx.processes });
      try {
        await clients.joined;
        const sync = await ctx.firstSync(product, redis);
        return { sync, summary: await collect(ctx, clients) };
      } finally {
        await clients.stop();
      }
    } finally {
      bare.stop();
    }
  });
  const s = run.summary;
  checkDone(s, 'fanoutBaselineP99Ms', reasons);
  extra.fanoutBaseline = { mode: process.env.BARE_MODE ?? 'framed', ...view(s, run.sync) };
  result.fanoutBaselineP99Ms = round(s.p99, 1);
  result.fanoutVsBaseline = round(ratio(result.progressP99Ms, s.p99), 2);
  result.spreadVsBaseline = round(ratio(result.fanoutSpreadP99Ms, s.spreadP99), 2);
  if (result.progressP99Ms === null) reasons.fanoutVsBaseline = reasons.spreadVsBaseline = 'needs the part "progress" (the API\'s figures)';
  else if (!s.spreadP99) reasons.spreadVsBaseline = 'the baseline spread is 0 ms (one client per process?)';
}

/** One product with API_KEY; the clients use the key itself, or a session token minted with it. */
async function authRun(ctx, mode) {
  const { sizes } = ctx;
  const key = `bench-${crypto.randomBytes(12).toString('hex')}`;
  // The phone links this long after the session starts: time for every client to join first.
  const scanMs = 3_000 + 10 * (sizes.ws + sizes.sse);
  const env = ctx.simEnv(sizes.progressChats, sizes.messages, { API_KEY: key, SIM_AUTO_SCAN_MS: String(scanMs) });
  return ctx.withProduct(env, async (product, redis) => {
    const head = await logHead(redis.client, ctx.session);
    await product.createSession(ctx.session);
    let credential = key;
    if (mode === 'token') {
      const res = await fetch(`${product.url}/whatsapp-web/session/${ctx.session}/tokens`, {
        method: 'POST',
        headers: { ...product.authHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify({ scopes: ['stream'], ttlSeconds: 3600 }),
      });
      if (res.status !== 201) throw new Error(`minting a token: ${res.status} ${await res.text()}`);
      credential = (await res.json()).token;
    }
    const clients = startClients({ url: product.url, sessionId: ctx.session, ws: sizes.ws, sse: sizes.sse, processes: ctx.processes, token: credential });
    try {
      await clients.joined;
      const logged = await redis.client.xrange(LOG_KEY(ctx.session), `(${head}`, '+');
      const early = logged.some(([, fields]) => String(fields[1]).includes('"event":"ready"'));
      const sync = await timeSync(redis.client, ctx.session, head, { timeoutMs: ctx.timeoutMs, product });
      return { sync, summary: await collect(ctx, clients), early };
    } finally {
      await clients.stop();
    }
  });
}

/**
 * Key and token runs alternate over a few rounds (key first, then token first), and each figure is
 * the median of its runs' p99s: one run's p99 moves ±25 % between runs of the same credential,
 * more than the token check could cost.
 */
async function tokens(ctx) {
  const { result, reasons, extra } = ctx;
  const rounds = ctx.quick ? 1 : TOKEN_ROUNDS;
  const runs = { key: [], token: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ['key', 'token'] : ['token', 'key']) runs[mode].push(await authRun(ctx, mode));
  }
  for (const [mode, field] of [['key', 'keyFanoutP99Ms'], ['token', 'tokenFanoutP99Ms']]) {
    for (const run of runs[mode]) {
      checkDone(run.summary, field, reasons);
      if (run.early) reasons[field] = 'the sync began before every client had joined (raise SIM_AUTO_SCAN_MS in fanout.js)';
    }
    result[field] = round(median(runs[mode].map((run) => run.summary.p99)), 1);
  }
  result.tokenFanoutP99Ratio = round(ratio(result.tokenFanoutP99Ms, result.keyFanoutP99Ms), 2);
  extra.tokenFanout = {
    rounds,
    key: runs.key.map((run) => view(run.summary, run.sync)),
    token: runs.token.map((run) => view(run.summary, run.sync)),
  };
}

module.exports = { baseline, tokens, startBroadcaster };
