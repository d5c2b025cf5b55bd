/**
 * `npm start` supervises its children: SESSION_RUNNERS runners and SYNC_WORKERS workers, each
 * started again after a short backoff when it dies, so a kill -9 of any child does not stop the
 * product.
 */
import { readFileSync } from 'node:fs';
import { httpJson } from './support/http';
import { type ServiceStack, startStack } from './support/service-stack';
import { waitFor } from './support/wait-for';

let stack: ServiceStack;

beforeAll(async () => {
  stack = await startStack({ SESSION_RUNNERS: '2', SYNC_WORKERS: '2', SIM_AUTO_SCAN_MS: '200', SIM_FETCH_LATENCY_MS: '5', SIM_CHATS: '5', RUNNER_LEASE_MS: '4000' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function pidOf(label: string): number {
  const all = [...stack.output().matchAll(new RegExp(`\\[wa-sync\\] ${label.replace('#', '#')} started \\(pid (\\d+)\\)`, 'g'))];
  return Number(all[all.length - 1]?.[1]);
}

it('runs two runners and two workers, and restarts a child killed with SIGKILL', async () => {
  await waitFor('two runners registered', async () => (await httpJson(stack.url, 'GET', '/whatsapp-web/runners')).json?.runners?.length === 2, 60_000);
  for (const label of ['session-runner#1', 'session-runner#2', 'sync-workers#1', 'sync-workers#2']) expect(pidOf(label)).toBeGreaterThan(0);
  // The heap settings of the memory goal reach the children (docs/benchmarks.md, section 5).
  const argv = (label: string) => readFileSync(`/proc/${pidOf(label)}/cmdline`, 'utf8').split('\0');
  expect(argv('session-runner#1')).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=25']));
  expect(argv('sync-workers#2')).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--heap-growing-percent=50']));
  expect(argv('api').some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);

  for (const label of ['session-runner#1', 'sync-workers#2']) {
    const pid = pidOf(label);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${label} restarted`, () => pidOf(label) !== pid, 30_000, () => stack.output());
    expect(stack.output()).toMatch(new RegExp(`${label} \\(pid ${pid}\\) exited unexpectedly \\(SIGKILL\\): restarting it in \\d+ ms`));
  }

  // The product still works: a session links and syncs.
  expect((await httpJson(stack.url, 'POST', '/whatsapp-web/session/sup1')).status).toBe(201);
  await waitFor('synced', async () => (await httpJson(stack.url, 'GET', '/whatsapp-web/session/sup1')).json?.lastSync?.done === true, 60_000);
  await waitFor('two runners again', async () => (await httpJson(stack.url, 'GET', '/whatsapp-web/runners')).json?.runners?.length === 2, 30_000);
});
