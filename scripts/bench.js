#!/usr/bin/env node
/**
 * `npm run bench`: every figure of issue 14 beside its baseline from the same run.
 *
 *   npm run bench                      # full run (< 10 min on 2 cores)
 *   npm run bench -- --quick --json    # CI: small sizes, ~1 min, one JSON object on the last line
 *   node scripts/bench.js --only e2e,progress --profile   # some phases; CPU profiles of the services
 *   node scripts/bench.js --only progress --client-processes 1   # the fan-out clients in one process
 *
 * Parts: in-process baselines (the product's store called directly, a minimal SQLite table, the
 * seed's fetch-then-save loop), then the product started through scripts/start.js on a private
 * Redis and a temp SQLite file (no API key), measured from its event log: ids are the server's
 * append times. A part that cannot run gives null fields and a reason; the command still exits 0.
 */
'use strict';
const os = require('node:os');
const path = require('node:path');
const { sleep, round, ratio, medianBy } = require('./bench/util');
const { logHead, timeSync, childPids } = require('./bench/product');
const inproc = require('./bench/inprocess');
const { startClients, cpuWindow } = require('./bench/progress-clients');
const sessionScenarios = require('./bench/sessions');
const { bareFlow } = require('./bench/bare-flow');
const { printReport } = require('./bench/report');
const { productPool } = require('./bench/product-pool');
const { memorySampler, stagingCounter, dropNewest } = require('./bench/sync-probes');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
};
const QUICK = flag('quick');
const JSON_OUT = flag('json');
const PROFILE = flag('profile');
const ONLY = option('only')?.split(',');
// `catchup` runs inside `e2e` (it restarts that product): --only e2e skips it unless named too.
const runs = (phase) => !ONLY || ONLY.includes(phase);

const SIZES = QUICK
  ? { chats: 200, messages: 20, seedChats: 40, progressChats: 100, ws: 50, sse: 50, scaleSmall: 100, scaleLarge: 1000, scaleMessages: 20, manySessions: 10, manyChats: 30, manyMessages: 10, idleSessions: 40, leaseSessions: 200 }
  : { chats: 2000, messages: 100, seedChats: 200, progressChats: 500, ws: 1000, sse: 1000, scaleSmall: 1000, scaleLarge: 10000, scaleMessages: 100, manySessions: 100, manyChats: 100, manyMessages: 50, idleSessions: 500, leaseSessions: 2000 };
for (const k of Object.keys(SIZES)) if (option(k) !== undefined) SIZES[k] = Number(option(k));
const LATENCY = 50;
// A sync that does not finish within this is reported as failed (CI must not hang on a stall).
const SYNC_TIMEOUT_MS = QUICK ? 90_000 : 480_000;
/** Rounds of the two store baselines (interleaved; the median of each is reported). */
const STORE_ROUNDS = QUICK ? 1 : 3;
// The whole run: past it the report is printed with what was measured, and everything stopped.
const DEADLINE_MS = Number(option('deadline') ?? (QUICK ? 420 : 1500)) * 1000;
const SESSION = 'bench';
// The progress part's clients run in this many processes (default: one per core; see progress-clients.js).
const CLIENT_PROCESSES = Number(option('client-processes') ?? os.cpus().length);

const result = {};
const reasons = {};
const extra = {};
const lines = [];
const say = (line = '') => {
  lines.push(line);
  process.stderr.write(`${line}\n`);
};
const MiB = 1024 * 1024;

/** Runs one part; on failure its fields stay null and the reason is kept. */
async function part(name, fields, fn) {
  for (const f of fields) result[f] ??= null;
  if (!runs(name)) {
    for (const f of fields) reasons[f] ??= `part "${name}" not selected (--only)`;
    return;
  }
  const t0 = performance.now();
  say(`… ${name}`);
  try {
    await fn();
  } catch (err) {
    const why = `${name} failed: ${String(err?.message ?? err).split('\n')[0]}`;
    say(`  ${why}`);
    if (process.env.BENCH_DEBUG) console.error(err);
    for (const f of fields) if (result[f] === null) reasons[f] ??= why;
  }
  say(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const { withProduct, stopAll } = productPool({ extra, say, keepProfiles: flag('keep-profiles') });

// MEDIA_DOWNLOAD=off: the text-sync figures keep measuring the text sync; the media part turns it on.
const simEnv = (chats, messages, extra = {}) => ({ SIM_CHATS: String(chats), SIM_MESSAGES_PER_CHAT: String(messages), SYNC_LIMIT_PER_CHAT: String(messages), MEDIA_DOWNLOAD: 'off', ...extra });

/** Creates the session and times its first sync from the log. */
async function firstSync(product, redis, o = {}) {
  const head = await logHead(redis.client, SESSION);
  await product.createSession(SESSION);
  return timeSync(redis.client, SESSION, head, { timeoutMs: o.timeoutMs ?? SYNC_TIMEOUT_MS, onEntry: o.onEntry, product });
}

async function progressRun(chats, messages, ws, sse) {
  const profile = PROFILE && ws + sse > 1 ? { profile: true, label: `progress ${ws} WS + ${sse} SSE` } : {};
  return withProduct(simEnv(chats, messages), async (product, redis) => {
    // With --profile the client processes are profiled too: is it them that set the pace?
    const clients = startClients({ url: product.url, sessionId: SESSION, ws, sse, processes: CLIENT_PROCESSES, profileDir: product.o.profileDir, pidNames: product.pidNames });
    try {
      const joined = await clients.joined;
      const named = [...childPids(product.child.pid).map((pid) => ({ pid, name: product.pidNames[pid] ?? 'other' })), { pid: redis.pid, name: 'redis' }, ...clients.pids.map((pid) => ({ pid, name: 'clients' }))];
      const cpuDuringSync = cpuWindow(named);
      const sync = await firstSync(product, redis);
      sync.cpuMs = cpuDuringSync();
      // Clients may lag far behind the server: give them time, then take what arrived.
      const timer = setTimeout(clients.finish, QUICK ? 30_000 : 180_000);
      const summary = await clients.summary();
      clearTimeout(timer);
      return { sync, joined, summary, apiMiB: product.peaks.api ?? null, peaks: { ...product.peaks } };
    } finally {
      await clients.stop();
    }
  }, profile);
}

async function main() {
  const started = performance.now();
  say(`wa-sync bench${QUICK ? ' (quick)' : ''}: ${os.cpus().length} cores, node ${process.version}, ${os.loadavg()[0].toFixed(1)} load at start`);

  // 1. In-process baselines.
  let raw = null;
  await part('store', ['rawStoreMsgsPerSec', 'rawSqliteMsgsPerSec', 'storeVsRawSqlite'], async () => {
    const data = inproc.dataset(SIZES.chats, SIZES.messages);
    // Interleaved rounds, the median of each: one pass of each drifted with the machine's load
    // (store ÷ SQLite 0.50 to 0.88 in four runs on one machine within ten minutes).
    const sqls = [];
    const raws = [];
    for (let i = 0; i < STORE_ROUNDS; i++) {
      sqls.push(await inproc.rawSqlite(data));
      raws.push(await inproc.rawStore(data));
    }
    const sql = medianBy(sqls, (r) => r.perSecond);
    raw = medianBy(raws, (r) => r.perSecond);
    result.rawStoreMsgsPerSec = round(raw.perSecond);
    result.rawSqliteMsgsPerSec = round(sql.perSecond);
    result.storeVsRawSqlite = round(ratio(raw.perSecond, sql.perSecond), 3);
    extra.storeRounds = { store: raws.map((r) => round(r.perSecond)), sqlite: sqls.map((r) => round(r.perSecond)) };
    const pct = (p) => raw.txMs[Math.min(raw.txMs.length - 1, Math.floor((p / 100) * raw.txMs.length))];
    extra.storeTransactions = { rowsPerTransaction: raw.txRows, count: raw.txMs.length, p50Ms: round(pct(50), 3), p99Ms: round(pct(99), 3), dbBytesPerMessage: round(raw.bytes / raw.messages) };
  });
  await part('seed', ['seedLoopSeconds'], async () => {
    const r = await inproc.seedLoop({ chats: SIZES.seedChats, messagesPerChat: SIZES.messages, latencyMs: LATENCY });
    result.seedLoopSeconds = round(r.seconds, 3);
  });

  // 1b. The PostgreSQL store beside a minimal table, and the e2e sync on it (scripts/bench/postgres.js).
  await part('postgres', ['pgStoreMsgsPerSec', 'rawPgMsgsPerSec', 'pgStoreVsRawPg', 'e2ePgMsgsPerSec'], () =>
    require('./bench/postgres').run({ data: inproc.dataset(SIZES.chats, SIZES.messages), rounds: STORE_ROUNDS, result, extra, round, ratio, e2e: (url) => withProduct(simEnv(SIZES.chats, SIZES.messages, { STORE_URL: url }), firstSync) }),
  );

  // 2. End to end on the default settings, then restarts on the same Redis and store.
  // The same graph on bare BullMQ workers that do nothing: what BullMQ costs per chat (issue 25).
  let flow = null;
  await part('flow', ['bullmqFlowMsgsPerSec'], async () => {
    flow = await bareFlow({ chats: SIZES.chats, messages: SIZES.messages });
    result.bullmqFlowMsgsPerSec = round(flow.msgsPerSec);
    extra.bareFlow = { seconds: round(flow.seconds, 2) };
  });

  await part('e2e', ['e2eMsgsPerSec', 'e2eVsComposed', 'e2eRatio', 'runnerRssMiB', 'workersRssMiB', 'redisPeakGrowthMiB', 'redisRetainedMiB', 'catchupIdleSeconds', 'catchupIdleFetches', 'catchupChangedFetches'], async () => {
    await withProduct(simEnv(SIZES.chats, SIZES.messages), async (product, redis) => {
      await sleep(500);
      const before = await redis.usedMemory();
      await redis.client.config('RESETSTAT');
      const mem = memorySampler(redis);
      const sync = await firstSync(product, redis);
      const peak = await mem.stop();
      // The first sync's own peaks: the restarts below start new processes with their own.
      product.sample();
      const firstPeaks = { ...product.peaks };
      product.peaks = {};
      extra.redisKeysAtPeak = mem.peakKeys;
      await sleep(2000); // finalize, cleanup of staging keys, completed-job trimming
      const after = await redis.usedMemory();
      const stats = await redis.commandStats();
      result.e2eMsgsPerSec = round(sync.messages / sync.seconds);
      result.e2eRatio = round(ratio(sync.messages / sync.seconds, raw?.perSecond), 3);
      if (!raw) reasons.e2eRatio = 'no store baseline (part "store" did not run)';
      // e2e against what the store and BullMQ allow together, each measured in this run.
      const composed = raw && flow ? 1 / (1 / raw.perSecond + 1 / flow.msgsPerSec) : null;
      result.e2eVsComposed = round(ratio(sync.messages / sync.seconds, composed), 3);
      if (composed) extra.composedMsgsPerSec = round(composed);
      else reasons.e2eVsComposed = 'needs the parts "store" and "flow"';
      result.redisPeakGrowthMiB = round((peak - before) / MiB, 1);
      result.redisRetainedMiB = round((after - before) / MiB, 1);
      result.runnerRssMiB = round(firstPeaks['session-runner']);
      result.workersRssMiB = round(firstPeaks['sync-workers']);
      extra.e2e = { seconds: round(sync.seconds, 2), messages: sync.messages, chatsFailed: sync.chatsFailed, apiRssMiB: round(firstPeaks.api) };
      const totalUsec = stats.reduce((s, c) => s + c.usec, 0);
      extra.redisCommandStats = { totalCalls: stats.reduce((s, c) => s + c.calls, 0), totalMs: round(totalUsec / 1000), top: stats.slice(0, 10).map((c) => ({ ...c, usec: undefined, ms: round(c.usec / 1000), perCallUs: round(c.usec / c.calls, 1) })) };

      if (!runs('catchup')) {
        for (const f of ['catchupIdleSeconds', 'catchupIdleFetches', 'catchupChangedFetches']) reasons[f] = 'part "catchup" not selected (--only)';
        return;
      }
      // Catch-up with nothing new: restart the services on the same Redis and store.
      // Fetches: the runner's own count of phone fetches (`wa-sync:session:<id>:fetch-stats`,
      // field `calls`) when the build keeps one; else staging writes, one per fetched chat.
      const staged = await stagingCounter(redis.url);
      const fetchCalls = async () => {
        const h = await redis.client.hgetall(`wa-sync:session:${SESSION}:fetch-stats`);
        return h && h.calls !== undefined ? Number(h.calls) : null;
      };
      const fetchesOf = (before, after, syncId) =>
        before !== null && after !== null ? { n: after - before, source: 'fetch-stats' } : { n: staged.count(syncId), source: 'staging writes' };
      try {
        const head = await logHead(redis.client, SESSION);
        const f0 = await fetchCalls();
        await product.restart();
        const idle = await timeSync(redis.client, SESSION, head, { timeoutMs: SYNC_TIMEOUT_MS, product });
        const idleFetches = fetchesOf(f0, await fetchCalls(), idle.syncId);
        product.sample();
        extra.restartSync = {
          kind: idle.kind,
          seconds: round(idle.seconds, 2),
          fetches: idleFetches.n,
          fetchesCountedFrom: idleFetches.source,
          messages: idle.messages,
          runnerRssMiB: round(product.peaks['session-runner']),
          workersRssMiB: round(product.peaks['sync-workers']),
        };
        if (idle.kind !== 'catch-up') {
          const why = `a restart ran a "${idle.kind}" sync (${round(idle.seconds, 2)} s, ${idleFetches.n} fetches): no catch-up sync in this build`;
          for (const f of ['catchupIdleSeconds', 'catchupIdleFetches', 'catchupChangedFetches']) reasons[f] = why;
          return;
        }
        result.catchupIdleSeconds = round(idle.seconds, 3);
        result.catchupIdleFetches = idleFetches.n;

        // Changed: while the services are down, every 100th chat loses its newest stored message,
        // which is what a chat that got a message meanwhile looks like to a catch-up.
        await product.stop();
        const changedChats = dropNewest(path.join(product.o.dataDir, 'wa-sync.db'), SESSION, 100);
        const head2 = await logHead(redis.client, SESSION);
        const f2 = await fetchCalls();
        await product.start();
        const changed = await timeSync(redis.client, SESSION, head2, { timeoutMs: SYNC_TIMEOUT_MS, product });
        const changedFetches = fetchesOf(f2, await fetchCalls(), changed.syncId);
        extra.catchupChanged = { seconds: round(changed.seconds, 3), chatsChanged: changedChats, fetches: changedFetches.n, fetchesCountedFrom: changedFetches.source, messages: changed.messages, kind: changed.kind };
        if (changedFetches.source === 'staging writes' && changedChats > 0 && changedFetches.n === 0) {
          // The chats changed but nothing was staged: this build fetches some other way and keeps no count.
          const why = 'no fetch count exposed by this build (no fetch-stats hash, no staging writes)';
          reasons.catchupIdleFetches = reasons.catchupChangedFetches = why;
          result.catchupIdleFetches = null;
        } else {
          result.catchupChangedFetches = changedFetches.n;
        }
        if (idleFetches.source !== 'fetch-stats') reasons.catchupFetchesSource = 'counted as staging writes (the build keeps no fetch-stats)';
      } finally {
        await staged.stop();
      }
    }, { profile: PROFILE, label: `e2e ${SIZES.chats} chats + restarts` });
  });

  // 3. At 50 ms fetch latency, against the seed's loop.
  // 2b. Media files of 1 MiB into the file blob store beside a raw write of the same files (scripts/bench/media.js).
  await part('media', ['mediaMiBPerSec', 'rawBlobMiBPerSec', 'mediaVsRawFs', 'blobPutMiBPerSec', 'mediaVsBlobPut', 'mediaPeakRssMiB'], () =>
    require('./bench/media').run({ files: QUICK ? 100 : 1000, withProduct, simEnv, result, extra, round, ratio, sleep, timeoutMs: SYNC_TIMEOUT_MS, profile: PROFILE }),
  );

  await part('latency', ['concurrent50msSeconds', 'speedup50ms', 'speedup50msC16'], async () => {
    for (const c of [8, 16]) {
      const sync = await withProduct(simEnv(SIZES.seedChats, SIZES.messages, { SIM_FETCH_LATENCY_MS: String(LATENCY), SYNC_CONCURRENCY: String(c) }), firstSync);
      if (c === 8) {
        result.concurrent50msSeconds = round(sync.seconds, 3);
        result.speedup50ms = round(ratio(result.seedLoopSeconds, sync.seconds), 2);
      } else {
        result.concurrent50msC16Seconds = round(sync.seconds, 3);
        result.speedup50msC16 = round(ratio(result.seedLoopSeconds, sync.seconds), 2);
      }
    }
    if (result.seedLoopSeconds === null) reasons.speedup50ms = reasons.speedup50msC16 = 'no seed loop baseline';
  });

  // 4. Progress latency and fan-out with many clients on one API process.
  await part('progress', ['progressP50Ms', 'progressP99Ms', 'fanoutSpreadP99Ms', 'slowdownWithClients', 'apiRssMiB'], async () => {
    const one = await progressRun(SIZES.progressChats, SIZES.messages, 1, 0);
    const many = await progressRun(SIZES.progressChats, SIZES.messages, SIZES.ws, SIZES.sse);
    const s = many.summary;
    if (s.sseStatus !== 200 && SIZES.sse > 0) reasons.progressClients = `SSE route answered ${s.sseStatus}: measured with ${s.ws} WebSocket clients only`;
    result.progressClients = { ws: s.ws, sse: s.sse };
    if (s.clientsDone < s.ws + s.sse) {
      reasons.progressP99Ms = `only ${s.clientsDone} of ${s.ws + s.sse} clients received the done event in time: events still queued are missing, so the latencies are a lower bound`;
    }
    result.progressP50Ms = round(s.p50, 1);
    result.progressP99Ms = round(s.p99, 1);
    result.fanoutSpreadP99Ms = round(s.spreadP99, 1);
    result.slowdownWithClients = round(ratio(many.sync.seconds, one.sync.seconds), 2);
    result.apiRssMiB = round(many.apiMiB);
    extra.progress = {
      oneClient: { seconds: round(one.sync.seconds, 2), cpuMsDuringSync: one.sync.cpuMs, p50Ms: round(one.summary.p50, 1), p99Ms: round(one.summary.p99, 1), apiRssMiB: round(one.apiMiB) },
      withClients: { seconds: round(many.sync.seconds, 2), cpuMsDuringSync: many.sync.cpuMs, deliveries: s.deliveries, events: s.events, mismatches: s.mismatches, clientsDone: s.clientsDone, maxMs: round(s.max, 1), spreadP50Ms: round(s.spreadP50, 1), clientProcessCpuShares: s.clientCpuShares.map((x) => round(x, 2)) },
    };
  });

  // The same fan-out against a bare broadcaster (issue 25), and with session tokens (issue 23): scripts/bench/fanout.js.
  const fanout = { withProduct, simEnv, firstSync, sizes: SIZES, quick: QUICK, processes: CLIENT_PROCESSES, session: SESSION, timeoutMs: SYNC_TIMEOUT_MS, result, reasons, extra };
  await part('fanout', ['fanoutBaselineP99Ms', 'fanoutVsBaseline', 'spreadVsBaseline'], () => require('./bench/fanout').baseline(fanout));
  await part('tokens', ['keyFanoutP99Ms', 'tokenFanoutP99Ms', 'tokenFanoutP99Ratio'], () => require('./bench/fanout').tokens(fanout));

  // 5. Scaling: msgs/s at the large account against the small one.
  await part('scaling', ['scaling10kRatio'], async () => {
    const small = await withProduct(simEnv(SIZES.scaleSmall, SIZES.scaleMessages), firstSync);
    const large = await withProduct(simEnv(SIZES.scaleLarge, SIZES.scaleMessages), firstSync);
    extra.scaling = { smallChats: SIZES.scaleSmall, smallMsgsPerSec: round(small.messages / small.seconds), largeChats: SIZES.scaleLarge, largeMsgsPerSec: round(large.messages / large.seconds) };
    result.scaling10kRatio = round(ratio(large.messages / large.seconds, small.messages / small.seconds), 3);
  });

  // Issue 25: many sessions on one runner and one worker (scripts/bench/sessions.js).
  const scenario = { withProduct, simEnv, timeoutMs: SYNC_TIMEOUT_MS };
  await part('sessions', ['manySessionsRatio', 'manySessionsSeconds', 'sessionDoneSpreadSeconds'], async () => {
    const sizes = { sessions: SIZES.manySessions, chats: SIZES.manyChats, messages: SIZES.manyMessages };
    const r = await sessionScenarios.many({ ...scenario, sizes });
    extra.manySessions = { ...sizes, ...r };
    Object.assign(result, { manySessionsRatio: r.manySessionsRatio, manySessionsSeconds: r.manySessionsSeconds, sessionDoneSpreadSeconds: r.sessionDoneSpreadSeconds });
  });
  await part('idle', ['idleSessionRunnerKiB', 'idleSessionRedisKiB', 'idleRunnerCpuPct'], async () => {
    const r = await sessionScenarios.idle({ ...scenario, sizes: { sessions: SIZES.idleSessions, settleMs: QUICK ? 5_000 : 20_000, idleMs: QUICK ? 10_000 : 30_000 } });
    extra.idle = r;
    Object.assign(result, { idleSessionRunnerKiB: r.idleSessionRunnerKiB, idleSessionRedisKiB: r.idleSessionRedisKiB, idleRunnerCpuPct: r.idleRunnerCpuPct });
  });
  await part('leases', ['leaseLosses2000Sessions', 'allSessionsReadySeconds'], async () => {
    // Full: losses between minute 1 and 3 with 2,000 sessions; quick: 200 sessions, 20-45 s.
    const windowMs = QUICK ? [20_000, 45_000] : [60_000, 180_000];
    const r = await sessionScenarios.leases({ ...scenario, sizes: { sessions: SIZES.leaseSessions, windowMs } });
    extra.leases = r;
    Object.assign(result, { leaseLosses2000Sessions: r.leaseLosses2000Sessions, allSessionsReadySeconds: r.allSessionsReadySeconds });
  });

  result.benchSeconds = round((performance.now() - started) / 1000, 1);
}

let reported = false;
function finish(why) {
  if (reported) return;
  reported = true;
  if (why) reasons.bench = why;
  result.benchSeconds ??= round(performance.now() / 1000, 1);
  printReport({ result, reasons, extra, sizes: SIZES, latency: LATENCY, say, json: JSON_OUT, quick: QUICK });
  if (!why) process.exit(0);
  stopAll().finally(() => process.exit(0));
}
setTimeout(() => finish(`stopped at the ${DEADLINE_MS / 1000} s deadline (--deadline): later parts not measured`), DEADLINE_MS).unref();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => finish(`interrupted (${signal})`));

main()
  .then(() => finish())
  .catch((err) => finish(String(err?.stack ?? err)));
