/**
 * Redis stopped for 30 s mid-sync and started again with its data (issue 24, item 6). Prints,
 * per trial, the time from Redis answering again to the next stored message (the figure the issue
 * asks for: "work resumes within 5 s"), then the time to the end of the sync; lost and duplicated
 * are audited as for every row. Registered with one line in faults.fault.ts.
 */
import { EXPECTED } from './fault-stack';
import type { FaultKit, RowLike } from './fault.kit';

const QUICK = process.env.FAULTS_QUICK === '1';
const OUTAGE_MS = QUICK ? 3_000 : 30_000;
const TOTAL = [...EXPECTED.values()].reduce((n, ids) => n + ids.length, 0);

export function redisOutageFaultRow<R extends RowLike>(kit: FaultKit<R>): void {
  const fault = `Redis stopped ${OUTAGE_MS / 1000} s mid-sync (data kept)`;
  it(fault, async () => {
    await kit.scenario(fault, async (row) => {
      const resumed: number[] = [];
      for (let t = 0; t < kit.trials; t++) {
        const s = kit.stack();
        const sessionId = `redis-outage-${t}`;
        await kit.createSession(s, sessionId);
        await kit.waitMidSync(s, sessionId);
        await s.redisOutage(OUTAGE_MS);
        const answering = Date.now();
        const stored = async () => TOTAL - (await s.audit(sessionId)).lost;
        const before = await stored();
        let resumedAt = 0;
        while (Date.now() - answering < kit.recoveryTimeoutMs) {
          const n = await stored();
          if (n > before || n === TOTAL) {
            resumedAt = Date.now();
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        if (resumedAt) resumed.push(resumedAt - answering);
        const complete = await s.waitComplete(sessionId, kit.recoveryTimeoutMs);
        row.trials += 1;
        if (complete) row.recoveryMs.push(Date.now() - answering);
        else row.note = `${row.note} trial ${t}: not complete`.trim();
        const audit = await s.audit(sessionId);
        row.lost += audit.lost;
        row.duplicated += audit.duplicated;
      }
      row.note = `${row.note} work resumed ${resumed.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} after Redis answered; recovery = Redis answering → sync complete`.trim();
    });
    expect(kit.failed(kit.last())).toEqual([]);
  });
}
