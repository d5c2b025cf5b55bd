/**
 * Fault row of continuous sync: a phone that keeps receiving messages (some edited or deleted later)
 * while the runner is killed -9, the store locked, Redis restarted and the workers killed -9. Every
 * message that arrived must be stored once, live or by the catch-up after a `ready`.
 */
import type { Message } from '@wa-sync/shared/contracts';
import { liveMessageK } from '../../services/session-runner/src/engine/simulated.live';
import { holdSqliteLock } from '../../test/support/store-lock';
import { waitFor } from '../../test/support/wait-for';
import type { FaultStack } from './fault-stack';
import type { FaultKit, RowLike } from './fault.kit';

export function liveTrafficFaultRow<R extends RowLike>(kit: FaultKit<R>): void {
  it('live traffic through runner and workers kill -9, a store lock and a Redis restart', async () => {
    await kit.scenario('live traffic through faults', (row) => liveTraffic(kit, row), LIVE_ENV);
    expect(kit.failed(kit.last())).toEqual([]);
  });
}

/** The live row's phone: a message every LIVE_INTERVAL_MS in a few chats, some edited or deleted later. */
const LIVE_INTERVAL_MS = 50;
const LIVE_ENV = { SIM_LIVE_INTERVAL_MS: String(LIVE_INTERVAL_MS), SIM_EDIT_EVERY: '7', SIM_REVOKE_EVERY: '11', SIM_CHATS: '4', SIM_MESSAGES_PER_CHAT: '20' };

/** Live messages in the store by k (`live #k`), with how many rows each has; the phone's clock anchor. */
async function liveStored(s: FaultStack, sessionId: string): Promise<{ rows: Map<number, number>; anchorMs: number | null; overCount: number }> {
  const messages: Message[] = [];
  let overCount = 0;
  for (const chat of (await s.store.listChats(sessionId, { limit: 500 })).items) {
    // Read before the pages: messages keep arriving, so a count read after them could be higher.
    const counted = (await s.store.getChat(sessionId, chat.id))?.messageCount ?? 0;
    let before: string | undefined;
    const ids = new Set<string>();
    for (;;) {
      const page = await s.store.listMessages(sessionId, chat.id, { limit: 500, ...(before ? { before } : {}) });
      messages.push(...page.items);
      for (const m of page.items) ids.add(m.id);
      if (!page.nextCursor) break;
      before = page.nextCursor;
    }
    if (counted > ids.size) overCount += counted - ids.size;
  }
  const first = messages.filter((m) => m.body === 'live #1').map((m) => Date.parse(m.timestamp));
  if (!first.length) return { rows: new Map(), anchorMs: null, overCount };
  const anchorMs = Math.min(...first) - LIVE_INTERVAL_MS;
  const rows = new Map<number, number>();
  for (const m of messages) {
    if (Date.parse(m.timestamp) <= anchorMs) continue; // history ends at the first ready
    const k = liveMessageK(m.id);
    rows.set(k, (rows.get(k) ?? 0) + 1);
  }
  return { rows, anchorMs, overCount };
}

/** Until every live message that arrived before `t` is stored; the ms it took from `since`, or null. */
async function liveCaughtUp(s: FaultStack, sessionId: string, t: number, since: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows, anchorMs } = await liveStored(s, sessionId).catch(() => ({ rows: new Map<number, number>(), anchorMs: null }));
    if (anchorMs !== null) {
      const upTo = Math.floor((t - anchorMs) / LIVE_INTERVAL_MS);
      let complete = true;
      for (let k = 1; k <= upTo && complete; k++) complete = rows.has(k);
      if (complete) return Date.now() - since;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

/**
 * Continuous sync through faults: a phone that keeps receiving messages (some edited or deleted
 * later) while the runner is killed, the store locked, Redis restarted and the workers killed.
 * Every message that arrived must be stored once, live or by the catch-up after a `ready`.
 */
async function liveTraffic<R extends RowLike>(kit: FaultKit<R>, row: R): Promise<void> {
  const s = kit.stack();
  const lockMs = kit.quick ? 2_000 : 10_000;
  const sessionId = 'live';
  await kit.createSession(s, sessionId);
  await waitFor('the first sync', async () => {
    const res = await fetch(`${s.url}/whatsapp-web/session/${sessionId}/sync`).catch(() => null);
    return res?.ok && ((await res.json()) as { done?: boolean }).done === true;
  }, 60_000);
  const faults: [string, () => Promise<void>][] = [
    ['runner kill -9', () => s.kill9AndRestart('session-runner')],
    [`store locked ${lockMs / 1000} s`, async () => void (await (await holdSqliteLock(s.storeFile, lockMs)).released)],
    ['Redis restart (data kept)', () => s.restartRedis(true)],
    ['workers kill -9', () => s.kill9AndRestart('sync-workers')],
  ];
  const recoveries: string[] = [];
  for (let t = 0; t < kit.trials; t++) {
    for (const [name, fault] of faults) {
      await fault();
      const end = Date.now();
      const took = await liveCaughtUp(s, sessionId, end, end, kit.recoveryTimeoutMs);
      row.trials += 1;
      if (took === null) row.note = `${row.note} ${name}: not caught up`.trim();
      else {
        row.recoveryMs.push(took);
        recoveries.push(`${name} ${(took / 1000).toFixed(1)} s`);
      }
    }
  }
  // Every live message up to a moment before the last fault ended: stored, and once.
  const until = Date.now() - 2_000;
  await liveCaughtUp(s, sessionId, until, until, kit.recoveryTimeoutMs);
  const { rows: stored, anchorMs, overCount } = await liveStored(s, sessionId);
  const upTo = anchorMs === null ? 0 : Math.floor((until - anchorMs) / LIVE_INTERVAL_MS);
  for (let k = 1; k <= upTo; k++) if (!stored.has(k)) row.lost += 1;
  for (const n of stored.values()) if (n > 1) row.duplicated += n - 1;
  row.duplicated += overCount;
  row.note = `${upTo} live messages; ${recoveries.join(', ')}`;
}
