'use strict';
/**
 * The progress part's clients: `ws` WebSocket and `sse` SSE clients spread over `processes`
 * client processes (clients.js), and their summaries merged. One process for 2,000 clients was
 * the pace-setter (its receive queues held ~100 MB while the API's send queues were near empty),
 * so the bench can use one per core; every process reports its own busy share, and every
 * delivery of every process is counted.
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { percentile, sleep } = require('./util');

/** Splits n into k near-equal parts. */
const split = (n, k) => Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));

/**
 * Starts the client processes; `joined` resolves once every client of every process is in.
 * With `profileDir`, each process records a CPU profile there (names in `pidNames`); with `token`
 * (an operator key or a session token), every client sends it as `?token=`.
 */
function startClients({ url, sessionId, ws, sse, processes, profileDir, pidNames, token }) {
  const n = Math.max(1, Math.min(processes, ws + sse));
  const wsParts = split(ws, n);
  const sseParts = split(sse, n);
  const env = { ...process.env, ...(profileDir ? { BENCH_CPU_PROF_DIR: profileDir } : {}), ...(token ? { BENCH_TOKEN: token } : {}) };
  const execArgv = profileDir ? ['--require', path.join(__dirname, 'cpu-prof.js')] : [];
  const children = wsParts.map((w, i) => {
    const child = fork(path.join(__dirname, 'clients.js'), [url, sessionId, String(w), String(sseParts[i])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv, env });
    if (pidNames) pidNames[child.pid] = `bench clients ${i + 1}/${n}`;
    return child;
  });
  const messageOf = (child, type) =>
    new Promise((resolve, reject) => {
      const on = (m) => {
        if (m.type === type) {
          child.off('message', on);
          resolve(m);
        } else if (m.type === 'error') reject(new Error(m.message));
      };
      child.on('message', on);
      child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
    });
  const joined = Promise.all(children.map((c) => messageOf(c, 'joined'))).then((parts) => ({
    ws: parts.reduce((a, p) => a + p.ws, 0),
    sse: parts.reduce((a, p) => a + p.sse, 0),
    sseStatus: parts.find((p) => p.sseStatus !== null)?.sseStatus ?? null,
  }));
  // Listening from the start: a process may finish before the caller asks.
  const summaries = joined.then(() => Promise.all(children.map((c) => messageOf(c, 'summary'))));
  summaries.catch(() => {});
  return {
    pids: children.map((c) => c.pid),
    joined,
    /** Resolves with the merged summary once every process sent its own. */
    summary: () => summaries.then(merge),
    /** Asks every process for its summary now (clients still waiting for the done event). */
    finish: () => children.forEach((c) => c.exitCode === null && c.send({ type: 'finish' })),
    /** Lets each process exit by itself (writing its profile), then kills what is left. */
    async stop() {
      await Promise.race([Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))), sleep(2_000)]);
      for (const c of children) if (c.exitCode === null) c.kill();
    },
  };
}

/** One summary for all processes: latency percentiles over every delivery, spread per event over every client. */
function merge(parts) {
  const histogram = new Map();
  const events = new Map();
  for (const p of parts) {
    for (const [bucket, count] of p.histogram) histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
    for (const [key, min, max, n] of p.arrivals) {
      const e = events.get(key);
      if (!e) events.set(key, { min, max, n });
      else {
        e.min = Math.min(e.min, min);
        e.max = Math.max(e.max, max);
        e.n += n;
      }
    }
  }
  const deliveries = parts.reduce((a, p) => a + p.deliveries, 0);
  const buckets = [...histogram].sort((a, b) => a[0] - b[0]);
  const latency = (p) => {
    if (!deliveries) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * deliveries));
    let seen = 0;
    for (const [bucket, count] of buckets) if ((seen += count) >= rank) return bucket / 10;
    return null;
  };
  const spreads = [...events.values()].map((e) => e.max - e.min).sort((a, b) => a - b);
  return {
    ws: parts.reduce((a, p) => a + p.ws, 0),
    sse: parts.reduce((a, p) => a + p.sse, 0),
    sseStatus: parts.find((p) => p.sseStatus !== null)?.sseStatus ?? null,
    clientsDone: parts.reduce((a, p) => a + p.clientsDone, 0),
    deliveries,
    mismatches: parts.reduce((a, p) => a + p.mismatches, 0),
    events: events.size,
    p50: latency(50),
    p99: latency(99),
    max: buckets.length ? buckets.at(-1)[0] / 10 : null,
    spreadP50: percentile(spreads, 50),
    spreadP99: percentile(spreads, 99),
    // Per process: CPU time ÷ wall time from "all joined" to its summary.
    clientCpuShares: parts.map((p) => (p.cpuMs === null ? null : p.cpuMs / p.wallMs)),
  };
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU time (user + system, ms) a process has used so far; null once it is gone. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * CPU used by each named process between `start()` and `stop()`: who the cores went to during
 * the sync (the product, its Redis, the client processes).
 */
function cpuWindow(named) {
  const before = named.map(({ pid }) => cpuMs(pid));
  return () => {
    const out = {};
    named.forEach(({ pid, name }, i) => {
      const now = cpuMs(pid);
      if (now !== null && before[i] !== null) out[name] = (out[name] ?? 0) + now - before[i];
    });
    return out;
  };
}

module.exports = { startClients, cpuWindow };
