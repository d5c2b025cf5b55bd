'use strict';
/**
 * The whole product as a user runs it: scripts/start.js (api, session-runner, sync-workers) on the
 * bench's private Redis and a SQLite file in a temp dir, no API key unless `env.API_KEY`. `restart()` stops and starts
 * the services on the same Redis and store. Each service's own peak RSS is sampled every 100 ms
 * (VmHWM from /proc), and the session's event log is read straight from Redis: the log ids are
 * the server's append times, so durations do not depend on how fast the bench reads.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { sleep, idMs } = require('./util');

const root = path.resolve(__dirname, '..', '..');
const LOG_KEY = (sessionId) => `wa-sync:session:${sessionId}:log`;

/** Child pids of `pid` with their service name (from the command line). */
function children(pid) {
  let pids = [];
  try {
    pids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    try {
      pids = execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
  return pids.map((p) => {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {}
    return { pid: p, name: cmd.match(/services\/([\w-]+)\//)?.[1] ?? (cmd.includes('redis') ? 'redis' : 'other') };
  });
}

/** VmHWM (peak RSS) and VmRSS of a process, MiB; null once it is gone. */
function memOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}

class Product {
  /**
   * @param {object} o
   * @param {string} o.redisUrl
   * @param {string} o.dataDir   SQLite file and start.js's DATA_DIR live here
   * @param {number} o.port
   * @param {Record<string,string>} o.env  SIM_*, SYNC_* settings
   * @param {string} [o.profileDir]  when set, services run with --cpu-prof into this dir
   */
  constructor(o) {
    this.o = o;
    this.peaks = {}; // name -> peak MiB over this product's lifetime (all restarts)
    this.pidNames = {}; // pid -> service name, to label CPU profiles
    this.child = null;
  }

  get url() {
    return `http://127.0.0.1:${this.o.port}`;
  }

  async start(extraEnv = {}) {
    // An open API unless the bench sets API_KEY itself, whatever the shell has.
    const shell = { ...process.env };
    delete shell.API_KEY;
    delete shell.NODE_OPTIONS;
    const env = {
      ...shell,
      PORT: String(this.o.port),
      DATA_DIR: this.o.dataDir,
      STORE_URL: `sqlite:${path.join(this.o.dataDir, 'wa-sync.db')}`,
      REDIS_URL: this.o.redisUrl,
      LOG_LEVEL: 'warn',
      SIM_AUTO_SCAN_MS: '100',
      RATE_LIMIT_MAX: '100000',
      ...this.o.env,
      ...extraEnv,
    };
    if (this.o.profileDir) {
      // node refuses --cpu-prof in NODE_OPTIONS: a preload starts the profiler instead.
      env.NODE_OPTIONS = `--require ${path.join(__dirname, 'cpu-prof.js')}`;
      env.BENCH_CPU_PROF_DIR = this.o.profileDir;
    }
    const child = spawn(process.execPath, [path.join(root, 'scripts/start.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', r));
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    this.stderr = () => err;
    const deadline = Date.now() + 120_000;
    while (!err.includes('wa-sync is running')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await this.stop();
        throw new Error(`wa-sync did not start: ${err.trim().split('\n').slice(-3).join(' | ') || `start.js exited with ${child.exitCode}`}`);
      }
      await sleep(50);
    }
    this.sampler = setInterval(() => this.sample(), 100);
    return this;
  }

  sample() {
    if (!this.child || this.child.exitCode !== null) return;
    for (const { pid, name } of children(this.child.pid)) {
      this.pidNames[pid] = name;
      const m = memOf(pid);
      if (m) this.peaks[name] = Math.max(this.peaks[name] ?? 0, m.hwm);
    }
  }

  async stop() {
    if (!this.child) return;
    this.sample();
    clearInterval(this.sampler);
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    await this.exited;
    this.child = null;
  }

  /** `Authorization` with the operator key when the bench set API_KEY. */
  authHeaders() {
    return this.o.env?.API_KEY ? { authorization: `Bearer ${this.o.env.API_KEY}` } : {};
  }

  async restart(extraEnv) {
    await this.stop();
    return this.start(extraEnv);
  }

  async createSession(sessionId) {
    const res = await fetch(`${this.url}/whatsapp-web/session/${sessionId}`, { method: 'POST', headers: this.authHeaders() });
    if (res.status >= 300) throw new Error(`POST session: ${res.status} ${await res.text()}`);
  }
}

/**
 * Reads a session's event log from `after` on, until `until(entry)` is true or the deadline.
 * Entries: { id, ms, event, data }.
 */
async function followLog(redis, sessionId, after, until, opts = {}) {
  const { timeoutMs = 600_000, onEntry } = opts;
  let last = after;
  const deadline = Date.now() + timeoutMs;
  const seen = [];
  for (;;) {
    const rows = await redis.xrange(LOG_KEY(sessionId), `(${last}`, '+', 'COUNT', 5000);
    for (const [id, fields] of rows) {
      last = id;
      let env = null;
      try {
        env = JSON.parse(fields[fields.indexOf('e') + 1]);
      } catch {}
      if (!env) continue;
      const entry = { id, ms: idMs(id), event: env.event, data: env.data };
      seen.push(entry);
      onEntry?.(entry);
      if (until(entry)) return { entries: seen, last: entry };
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting on the event log of ${sessionId} (${seen.length} entries read)`);
    const { product } = opts;
    if (product && (!product.child || product.child.exitCode !== null)) {
      throw new Error(`wa-sync stopped during the sync: ${product.stderr?.().trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (rows.length < 5000) await sleep(50);
  }
}

async function logHead(redis, sessionId) {
  const rows = await redis.xrevrange(LOG_KEY(sessionId), '+', '-', 'COUNT', 1);
  return rows[0]?.[0] ?? '0-0';
}

/** Server-side timing of one sync from the log: `ready` → the done `sync_chats`. */
async function timeSync(redis, sessionId, after, o = {}) {
  let ready = null;
  const chatDone = [];
  const { last } = await followLog(
    redis,
    sessionId,
    after,
    (e) => e.event === 'sync_chats' && e.data.done === true,
    {
      ...o,
      onEntry: (e) => {
        if (e.event === 'ready') ready = e;
        if (e.event === 'sync_chats' && e.data.currentChat > 0) chatDone.push(e);
        o.onEntry?.(e);
      },
    },
  );
  if (!ready) throw new Error('no ready event before the sync finished');
  return {
    seconds: (last.ms - ready.ms) / 1000,
    messages: last.data.totalMessagesSynced,
    chatsFailed: last.data.chatsFailed,
    kind: last.data.kind ?? 'full',
    syncId: last.data.syncId,
    nChats: last.data.nChats,
    chatDone,
    lastId: last.id,
  };
}

const childPids = (pid) => children(pid).map((c) => c.pid);

module.exports = { Product, followLog, logHead, timeSync, childPids, LOG_KEY };
