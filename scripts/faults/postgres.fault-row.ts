/**
 * Fault row on the PostgreSQL store: the product runs with STORE_URL=postgres://… (a database of
 * its own) and, mid-sync, the server ends every connection of every process to it
 * (`pg_terminate_backend`, as a server restart or an operator would), three times in a row.
 * Every message must be stored once: 0 lost, 0 duplicated.
 */
import type { FaultKit, RowLike } from './fault.kit';
import { createTestDatabase, postgresAnswers, PG_HOST_URL, terminateConnections, type TestDatabase } from '../../test/support/postgres-db';

/** The part of a row this scenario fills (the suite's Row has these fields). */
const KILLS = 3;

export function postgresFaultRow<R extends RowLike>(kit: FaultKit<R>): void {
  const fault = `PostgreSQL connections killed ×${KILLS} mid-sync`;
  if (!postgresAnswers()) {
    if (process.env.CI === 'true' || process.env.PG_TEST_REQUIRED === '1') {
      it(fault, () => {
        throw new Error(`nothing answers at ${PG_HOST_URL}`);
      });
    } else it.skip(`${fault} (nothing answers at ${PG_HOST_URL})`, () => undefined);
    return;
  }
  it(fault, async () => {
    const db = await createTestDatabase('faults');
    try {
      await kit.scenario(fault, (row) => killConnections(kit, db, row), { STORE_URL: `${db.url}?pool_max=4` });
    } finally {
      await db.drop();
    }
    expect(kit.failed(kit.last())).toEqual([]);
  });
}

async function killConnections<R extends RowLike>(kit: FaultKit<R>, db: TestDatabase, row: R): Promise<void> {
  let killed = 0;
  for (let t = 0; t < kit.trials; t++) {
    const s = kit.stack();
    const sessionId = `pg-kill-${t}`;
    await kit.createSession(s, sessionId);
    await kit.waitMidSync(s, sessionId);
    const t0 = Date.now();
    for (let k = 0; k < KILLS; k++) {
      killed += await terminateConnections(db.name);
      await new Promise((r) => setTimeout(r, 300));
    }
    const complete = await s.waitComplete(sessionId, kit.recoveryTimeoutMs);
    row.trials += 1;
    if (complete) row.recoveryMs.push(Date.now() - t0);
    else row.note = `${row.note} trial ${t}: not complete after ${kit.recoveryTimeoutMs / 1000} s`.trim();
    const audit = await s.audit(sessionId);
    row.lost += audit.lost;
    row.duplicated += audit.duplicated;
  }
  row.note = `${row.note} ${killed} server connections terminated`.trim();
}
