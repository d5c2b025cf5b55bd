'use strict';
/**
 * The bench's report: each figure beside its same-run baseline and its goal, in a table for people,
 * then (with --json) one JSON object on the last line, which CI and the docs' tables read.
 */
const os = require('node:os');
const { round } = require('./util');

function printReport({ result, reasons, extra, sizes: SIZES, latency: LATENCY, say, json, quick }) {
  const r = result;
  const row = (label, value, base, goal = '') => say(`${label.padEnd(44)}${String(value ?? 'null').padStart(14)}  ${String(base ?? '').padEnd(34)}${goal}`);
  say('');
  say(`${''.padEnd(44)}${'figure'.padStart(14)}  ${'baseline (same run)'.padEnd(34)}goal`);
  row('e2e msgs/s (ready → done)', r.e2eMsgsPerSec, `store direct ${r.rawStoreMsgsPerSec ?? 'null'}`, '');
  row('  e2e ÷ store', r.e2eRatio, '', '(was the goal; see e2eVsComposed)');
  row('bare BullMQ flow msgs/s (same graph)', r.bullmqFlowMsgsPerSec, extra.bareFlow ? `${extra.bareFlow.seconds} s for ${SIZES.chats} chats` : '');
  row('  e2e ÷ composed (store, flow)', r.e2eVsComposed, extra.composedMsgsPerSec ? `composed ${extra.composedMsgsPerSec}` : '', '≥ 0.8');
  row('store msgs/s', r.rawStoreMsgsPerSec, `minimal SQLite ${r.rawSqliteMsgsPerSec ?? 'null'}`);
  row('  store ÷ minimal SQLite', r.storeVsRawSqlite, '', '≥ 0.6');
  row('PostgreSQL store msgs/s', r.pgStoreMsgsPerSec, `minimal PostgreSQL ${r.rawPgMsgsPerSec ?? 'null'}`);
  row('  PostgreSQL store ÷ minimal PostgreSQL', r.pgStoreVsRawPg, '', '≥ 0.6');
  row('e2e msgs/s on PostgreSQL', r.e2ePgMsgsPerSec, `on SQLite ${r.e2eMsgsPerSec ?? 'null'}`);
  row(`${SIZES.seedChats} chats @ ${LATENCY} ms, C=8 (s)`, r.concurrent50msSeconds, `seed loop ${r.seedLoopSeconds ?? 'null'} s`);
  row('  speedup C=8', r.speedup50ms, '', '≥ 7.5');
  row(`  ${SIZES.seedChats} chats @ ${LATENCY} ms, C=16 (s)`, r.concurrent50msC16Seconds, '');
  row('  speedup C=16', r.speedup50msC16, '', '≥ 14');
  row('catch-up, nothing new (s)', r.catchupIdleSeconds, extra.restartSync ? `restart sync: ${extra.restartSync.kind} ${extra.restartSync.seconds} s` : '', '≤ 1');
  row('  fetches, nothing new', r.catchupIdleFetches, `${SIZES.chats} chats`, '0');
  row('  fetches, some chats changed', r.catchupChangedFetches, extra.catchupChanged ? `${extra.catchupChanged.chatsChanged} chats changed, ${extra.catchupChanged.seconds} s` : '');
  const p = extra.progress;
  const c = r.progressClients ? `${r.progressClients.ws} WS + ${r.progressClients.sse} SSE` : 'clients';
  row(`progress p50 (ms), ${c}`, r.progressP50Ms, p ? `1 client ${p.oneClient.p50Ms}` : '');
  row('progress p99 (ms)', r.progressP99Ms, p ? `1 client ${p.oneClient.p99Ms}` : '', '≤ 50');
  row('fan-out spread p99 (ms)', r.fanoutSpreadP99Ms, '1 client 0', '≤ 50');
  row('sync slowdown with clients', r.slowdownWithClients, p ? `${p.withClients.seconds} s vs ${p.oneClient.seconds} s` : '', '≤ 1.25');
  row('API peak RSS with clients (MiB)', r.apiRssMiB, p ? `1 client ${p.oneClient.apiRssMiB}` : '', '≤ 250');
  if (p) {
    const w = p.withClients;
    const shares = w.clientProcessCpuShares.map((x) => (x === null ? '?' : `${Math.round(x * 100)}%`)).join(', ');
    const cpu = (c) => Object.entries(c ?? {}).map(([k, v]) => `${k} ${round(v / 1000, 2)}`).join(', ');
    say(`  CPU s from join to sync done: 1 client: ${cpu(p.oneClient.cpuMsDuringSync)}; many: ${cpu(w.cpuMsDuringSync)}`);
    say(`  (${w.deliveries} deliveries of ${w.events} events, ${w.mismatches} not byte-identical; ${w.clientProcessCpuShares.length} client process(es) busy ${shares} of the time while receiving: near 100%, they, not the API, set the pace)`);
  }
  const fb = extra.fanoutBaseline;
  row('bare broadcaster p99 (ms), same clients', r.fanoutBaselineP99Ms, fb ? `p50 ${fb.p50Ms}, spread p99 ${fb.spreadP99Ms}` : '');
  row('  progress p99 ÷ bare broadcaster p99', r.fanoutVsBaseline, `API ${r.progressP99Ms ?? 'null'} ms`, '≤ 1.5');
  row('  fan-out spread ÷ bare broadcaster', r.spreadVsBaseline, `API ${r.fanoutSpreadP99Ms ?? 'null'} ms`, '≤ 1.5');
  row('progress p99 (ms), session tokens', r.tokenFanoutP99Ms, `operator key ${r.keyFanoutP99Ms ?? 'null'} ms`);
  row('  token p99 ÷ key p99', r.tokenFanoutP99Ratio, extra.tokenFanout ? `${extra.tokenFanout.token[0].clients.ws} WS + ${extra.tokenFanout.token[0].clients.sse} SSE, median of ${extra.tokenFanout.rounds} run(s) each` : '', '≤ 1.1');
  row('media MiB/s (1 MiB files, file store)', r.mediaMiBPerSec, `raw write ${r.rawBlobMiBPerSec ?? 'null'}`, '');
  row('  media ÷ raw write', r.mediaVsRawFs, extra.media ? `${extra.media.files} files` : '', '≥ 0.5');
  row('  media ÷ the blob store\'s own put', r.mediaVsBlobPut, `put ${r.blobPutMiBPerSec ?? 'null'} MiB/s`, '');
  row('runner peak RSS, media downloads (MiB)', r.mediaPeakRssMiB, '', '≤ 200');
  row(`runner peak RSS, ${SIZES.chats}-chat sync (MiB)`, r.runnerRssMiB, '', '≤ 150');
  row('workers peak RSS (MiB)', r.workersRssMiB, '', '≤ 150');
  row('Redis peak growth during sync (MiB)', r.redisPeakGrowthMiB, extra.redisKeysAtPeak ? `${extra.redisKeysAtPeak} keys at the peak` : '', '≤ 20');
  row('Redis retained after sync (MiB)', r.redisRetainedMiB, '', '≤ 10');
  row(`msgs/s ${SIZES.scaleLarge} ÷ ${SIZES.scaleSmall} chats`, r.scaling10kRatio, extra.scaling ? `${extra.scaling.largeMsgsPerSec} vs ${extra.scaling.smallMsgsPerSec}` : '', '≥ 0.9');
  const m = extra.manySessions;
  row(`many sessions msgs/s (${SIZES.manySessions} × ${SIZES.manyChats} × ${SIZES.manyMessages})`, m?.manySessionsMsgsPerSec, m ? `1 × ${SIZES.manySessions * SIZES.manyChats} chats ${m.oneSessionMsgsPerSec}` : '');
  row('  many ÷ one session', r.manySessionsRatio, '', '≥ 0.8');
  row('  last ready → last done (s)', m?.manySessionsReadyToDoneSeconds, m ? `first ready → last done ${m.manySessionsSeconds} s` : '');
  row('  session done spread (s)', r.sessionDoneSpreadSeconds, '', 'no session waits for all');
  row(`idle runner RSS per session (KiB), ${SIZES.idleSessions}`, r.idleSessionRunnerKiB, '', '≤ 256');
  row('idle Redis memory per session (KiB)', r.idleSessionRedisKiB, '', '≤ 16');
  row('idle runner CPU (% of a core)', r.idleRunnerCpuPct, '', '≤ 2');
  row(`lease losses, ${SIZES.leaseSessions} sessions on one runner`, r.leaseLosses2000Sessions, extra.leases ? `window ${extra.leases.leaseWindowSeconds.join('-')} s, ${extra.leases.leaseLossesTotal} in all` : '', '0');
  row('  all sessions ready (s)', r.allSessionsReadySeconds, extra.leases ? `created in ${extra.leases.sessionsCreatedSeconds} s` : '');
  if (extra.storeTransactions) say(`\nstore transactions: ${JSON.stringify(extra.storeTransactions)}`);
  if (extra.redisCommandStats) {
    say(`Redis during the ${SIZES.chats}-chat sync: ${extra.redisCommandStats.totalCalls} calls, ${extra.redisCommandStats.totalMs} ms in commands; top:`);
    for (const s of extra.redisCommandStats.top) say(`  ${s.cmd.padEnd(22)} ${String(s.calls).padStart(8)} calls ${String(s.ms).padStart(7)} ms ${String(s.perCallUs).padStart(7)} µs/call`);
  }
  for (const prof of extra.profiles ?? []) {
    say(`\nCPU profile ${prof.name} (${prof.part}): busy ${round(prof.busyMs)} of ${round(prof.totalMs)} ms`);
    for (const [fn, ms] of prof.rows) say(`  ${String(round(ms)).padStart(6)} ms  ${fn}`);
  }
  const nulls = Object.entries(reasons);
  if (nulls.length) {
    say('\nnot measured / notes:');
    for (const [k, v] of nulls) say(`  ${k}: ${v}`);
  }
  say(`\n${r.benchSeconds} s in all`);
  const { profiles, ...extraJson } = extra;
  if (json) process.stdout.write(`${JSON.stringify({ ...result, quick, cores: os.cpus().length, sizes: SIZES, reasons, extra: extraJson })}\n`);
}

module.exports = { printReport };
