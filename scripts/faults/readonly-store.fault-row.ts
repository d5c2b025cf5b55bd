/**
 * A store that stops accepting writes (issue 24, item 5), as an attacker would try it: the
 * services run as a non-root user, the SQLite files are made read-only mid-sync, the sync worker
 * and the API are killed -9 and restarted (their new handles open read-only), and write access
 * comes back 30 s later. Clients must get 503s, never a 500 (the suite's probes count them), and
 * the sync must end exact with no restart by hand. Recovery = write access back → sync complete.
 * Registered with one line in faults.fault.ts; skipped unless the suite runs as root with setpriv.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultKit, RowLike } from './fault.kit';

const QUICK = process.env.FAULTS_QUICK === '1';
const READ_ONLY_MS = QUICK ? 3_000 : 30_000;
const NOBODY = '65534';

export function readonlyStoreFaultRow<R extends RowLike>(kit: FaultKit<R>): void {
  const fault = `store read-only ${READ_ONLY_MS / 1000} s, worker and API restarted`;
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
    it.skip(`${fault} (needs root and setpriv)`, () => undefined);
    return;
  }
  it(fault, async () => {
    await kit.scenario(
      fault,
      async (row) => {
        for (let t = 0; t < kit.trials; t++) {
          const s = kit.stack();
          const sessionId = `readonly-${t}`;
          await kit.createSession(s, sessionId);
          await kit.waitMidSync(s, sessionId);
          const setWritable = (writable: boolean) => {
            for (const f of readdirSync(s.dataDir).filter((f) => f.startsWith('wa-sync.db'))) chmodSync(join(s.dataDir, f), writable ? 0o644 : 0o444);
          };
          setWritable(false);
          await s.kill9AndRestart('sync-workers');
          await s.kill9AndRestart('api');
          await new Promise((r) => setTimeout(r, READ_ONLY_MS));
          const ready = await fetch(`${s.url}/readyz`).catch(() => null);
          if (ready?.status !== 503) row.note = `${row.note} trial ${t}: /readyz ${ready?.status ?? 'unanswered'} while read-only`.trim();
          setWritable(true);
          const t0 = Date.now();
          const complete = await s.waitComplete(sessionId, kit.recoveryTimeoutMs);
          row.trials += 1;
          if (complete) row.recoveryMs.push(Date.now() - t0);
          else row.note = `${row.note} trial ${t}: not complete`.trim();
          const audit = await s.audit(sessionId);
          row.lost += audit.lost;
          row.duplicated += audit.duplicated;
        }
      },
      { FAULTS_RUN_AS: NOBODY },
    );
    expect(kit.failed(kit.last())).toEqual([]);
  });
}
