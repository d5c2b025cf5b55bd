'use strict';
/**
 * Issue 25's scenarios of many sessions, each on its own product (scripts/start.js: one runner, one
 * worker, private Redis, temp SQLite), every figure beside a baseline measured in the same run:
 *   many     N sessions × C chats × M against 1 session × N·C chats × M: manySessionsRatio, the time
 *            from the first `ready` to the last `done`, sessionDoneSpreadSeconds.
 *   idle     N ready sessions with no traffic: the runner's RSS and Redis memory per session, the
 *            runner's CPU over an idle window.
 *   leases   N small sessions created at once on one runner: lease losses logged in a window, the time
 *            until all are ready.
 */
const fs = require('node:fs');
const { sleep, round, ratio } = require('./util');
const { followLog, logHead, timeSync } = require('./product');

/** POSTs every session, `lanes` at a time. */
async function createSessions(product, ids, lanes = 32) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, ids.length) }, async () => {
      while (next < ids.length) await product.createSession(ids[next++]);
    }),
  );
}

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** The runner's pid (start.js's child running services/session-runner). */
function runnerPid(product) {
  product.sample();
  const entry = Object.entries(product.pidNames).find(([pid, name]) => name === 'session-runner' && fs.existsSync(`/proc/${pid}`));
  return entry ? Number(entry[0]) : null;
}

function rssKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
}

/** CPU time (user + system) of a process, ms. */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Every session's first sync timed from its own log (ready → done). */
async function timeAll(product, redis, sessionIds, heads, timeoutMs) {
  return Promise.all(sessionIds.map((id) => timeSync(redis.client, id, heads.get(id) ?? '0-0', { timeoutMs, product })));
}

async function many({ withProduct, simEnv, sizes, timeoutMs }) {
  const { sessions, chats, messages } = sizes;
  const single = await withProduct(simEnv(sessions * chats, messages), async (product, redis) => {
    const head = await logHead(redis.client, 'one');
    await product.createSession('one');
    return timeSync(redis.client, 'one', head, { timeoutMs, product });
  });
  const multi = await withProduct(simEnv(chats, messages), async (product, redis) => {
    const sessionIds = ids('m', sessions);
    const heads = new Map();
    for (const id of sessionIds) heads.set(id, await logHead(redis.client, id));
    const readyAt = new Map();
    const doneAt = new Map();
    const watchers = sessionIds.map((id) =>
      followLog(redis.client, id, heads.get(id), (e) => e.event === 'sync_chats' && e.data.done === true, {
        timeoutMs,
        product,
        onEntry: (e) => {
          if (e.event === 'ready' && !readyAt.has(id)) readyAt.set(id, e.ms);
          if (e.event === 'sync_chats' && e.data.done) doneAt.set(id, { ms: e.ms, messages: e.data.totalMessagesSynced });
        },
      }),
    );
    await createSessions(product, sessionIds);
    await Promise.all(watchers);
    const firstReady = Math.min(...readyAt.values());
    const lastReady = Math.max(...readyAt.values());
    const dones = [...doneAt.values()].map((d) => d.ms);
    const total = [...doneAt.values()].reduce((a, d) => a + d.messages, 0);
    // Each session's own wait, its ready to its done: what a user of that account sees.
    const own = sessionIds.map((id) => (doneAt.get(id).ms - readyAt.get(id)) / 1000).sort((a, b) => a - b);
    return {
      ownSyncSeconds: { p50: own[Math.floor(own.length / 2)], max: own[own.length - 1] },
      seconds: (Math.max(...dones) - firstReady) / 1000,
      readyToLastDoneSeconds: (Math.max(...dones) - lastReady) / 1000,
      spreadSeconds: (Math.max(...dones) - Math.min(...dones)) / 1000,
      messages: total,
    };
  });
  const singleRate = single.messages / single.seconds;
  const multiRate = multi.messages / multi.seconds;
  return {
    manySessionsMsgsPerSec: round(multiRate),
    oneSessionMsgsPerSec: round(singleRate),
    manySessionsRatio: round(ratio(multiRate, singleRate), 3),
    manySessionsSeconds: round(multi.seconds, 1),
    manySessionsReadyToDoneSeconds: round(multi.readyToLastDoneSeconds, 1),
    sessionDoneSpreadSeconds: round(multi.spreadSeconds, 1),
    sessionOwnSyncP50Seconds: round(multi.ownSyncSeconds.p50, 1),
    sessionOwnSyncMaxSeconds: round(multi.ownSyncSeconds.max, 1),
    manySessionsMessages: multi.messages,
  };
}

/**
 * Where an idle session's Redis memory is: `MEMORY USAGE` of every key, grouped by the key with
 * the session ids and any other id in it (sync ids, job numbers) replaced by `*`, in KiB per
 * session, largest first; `keysKiB` is their sum (used_memory also holds connections' buffers,
 * the script cache and the allocator's overhead).
 */
async function memoryByFamily(client, sessionIds) {
  const own = new Set(sessionIds);
  const families = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const family = key.split(/([:-])/).map((p) => (own.has(p) || /^\d+$|^(?=.*\d)[0-9a-z]{6,}$/.test(p) ? '*' : p)).join('');
      families.set(family, (families.get(family) ?? 0) + ((await client.memory('USAGE', key, 'SAMPLES', 0)) ?? 0));
    }
  } while (cursor !== '0');
  const perSession = (bytes) => round(bytes / 1024 / sessionIds.length, 2);
  const total = [...families.values()].reduce((a, b) => a + b, 0);
  return { keysKiB: perSession(total), ...Object.fromEntries([...families].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, bytes]) => [k, perSession(bytes)])) };
}

/** MEMORY STATS' byte counters (flattened), to show the part of used_memory no key accounts for. */
async function memoryStats(client) {
  const raw = await client.call('MEMORY', 'STATS');
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    if (typeof raw[i + 1] === 'number') out[raw[i]] = raw[i + 1];
    else if (Array.isArray(raw[i + 1])) for (let j = 0; j < raw[i + 1].length; j += 2) if (typeof raw[i + 1][j + 1] === 'number') out[`${raw[i]}.${raw[i + 1][j]}`] = raw[i + 1][j + 1];
  }
  return out;
}

function diffStats(before, after, sessions) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (!/peak|percentage|ratio|startup|keys\.count|count$/.test(k) && Math.abs(v - (before[k] ?? 0)) > 1024) out[k] = round((v - (before[k] ?? 0)) / 1024 / sessions, 2);
  return out;
}

async function idle({ withProduct, simEnv, sizes, timeoutMs }) {
  return withProduct(simEnv(3, 5), async (product, redis) => {
    await sleep(2000);
    const pid = runnerPid(product);
    if (!pid) throw new Error('no session-runner process found');
    const rss0 = rssKiB(pid);
    const mem0 = await redis.usedMemory();
    const stats0 = await memoryStats(redis.client);
    const sessionIds = ids('i', sizes.sessions);
    const watchers = sessionIds.map((id) => followLog(redis.client, id, '0-0', (e) => e.event === 'sync_chats' && e.data.done === true, { timeoutMs, product }));
    await createSessions(product, sessionIds);
    await Promise.all(watchers);
    // Settle: completed jobs, GC, the last heartbeats.
    await sleep(sizes.settleMs);
    const c0 = cpuMs(pid);
    const t0 = performance.now();
    await sleep(sizes.idleMs);
    const cpuPct = ((cpuMs(pid) - c0) / (performance.now() - t0)) * 100;
    const rss1 = rssKiB(pid);
    const mem1 = await redis.usedMemory();
    return {
      idleSessionRunnerKiB: round((rss1 - rss0) / sizes.sessions),
      idleSessionRedisKiB: round((mem1 - mem0) / 1024 / sizes.sessions, 1),
      idleRunnerCpuPct: round(cpuPct, 2),
      idleSessions: sizes.sessions,
      redisKiBPerSessionByKey: await memoryByFamily(redis.client, sessionIds),
      redisMemoryStatsKiBPerSession: diffStats(stats0, await memoryStats(redis.client), sizes.sessions),
    };
  });
}

async function leases({ withProduct, simEnv, sizes }) {
  return withProduct(simEnv(2, 5, { LOG_LEVEL: 'info' }), async (product) => {
    let losses = 0;
    let lossesInWindow = 0;
    const t0 = Date.now();
    const [from, to] = sizes.windowMs;
    product.child.stderr.on('data', (chunk) => {
      const n = String(chunk).split('lease no longer ours').length - 1;
      losses += n;
      const at = Date.now() - t0;
      if (at >= from && at < to) lossesInWindow += n;
    });
    const sessionIds = ids('l', sizes.sessions);
    await createSessions(product, sessionIds, 64);
    const created = (Date.now() - t0) / 1000;
    let allReadyAt = null;
    while (Date.now() - t0 < to) {
      if (allReadyAt === null) {
        let ready = 0;
        let cursor = null;
        do {
          const res = await fetch(`${product.url}/whatsapp-web/sessions?limit=500${cursor ? `&cursor=${cursor}` : ''}`).then((r) => r.json());
          ready += res.sessions.filter((s) => s.status === 'ready').length;
          cursor = res.nextCursor;
        } while (cursor);
        if (ready === sizes.sessions) allReadyAt = (Date.now() - t0) / 1000;
      }
      await sleep(2000);
    }
    return {
      leaseLosses2000Sessions: lossesInWindow,
      leaseLossesTotal: losses,
      leaseSessions: sizes.sessions,
      leaseWindowSeconds: [from / 1000, to / 1000],
      sessionsCreatedSeconds: round(created, 1),
      allSessionsReadySeconds: allReadyAt === null ? null : round(allReadyAt, 1),
    };
  });
}

module.exports = { many, idle, leases };
