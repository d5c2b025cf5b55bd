/**
 * createRedis with a redis+sentinel:// URL against a real set (one primary, one replica, three
 * sentinels): a plain connection and a BullMQ queue and worker (its blocking connection is a
 * duplicate) carry on on the promoted replica after the primary is killed -9, and after a
 * SENTINEL FAILOVER that the old primary survives.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { type SentinelSet, startSentinelSet } from '../../../test/support/sentinel-set';
import { createRedis, type Redis } from './redis.client';

let set: SentinelSet;
const open: { close(): Promise<unknown> }[] = [];
let redis: Redis;

/** The port of the server the connection is really on (options.port is not the resolved primary's). */
const serverPort = async (r: Redis) => Number(/tcp_port:(\d+)/.exec(await r.info('server'))?.[1]);

beforeAll(async () => {
  set = await startSentinelSet();
  redis = createRedis(set.url);
  redis.on('error', () => undefined);
}, 90_000);

afterAll(async () => {
  for (const c of open.reverse()) await c.close().catch(() => undefined);
  redis?.disconnect();
  await set?.stop();
});

it('a connection and a BullMQ worker follow the primary through a kill -9 failover', async () => {
  const first = await set.primaryPort();
  expect(await serverPort(redis)).toBe(first);
  await redis.set('before', '1');

  const queue = new Queue('sentinel-q', { connection: redis });
  const done: number[] = [];
  const worker = new Worker('sentinel-q', async (job) => void done.push(job.data.n as number), { connection: redis, concurrency: 2 });
  const events = new QueueEvents('sentinel-q', { connection: redis });
  queue.on('error', () => undefined);
  worker.on('error', () => undefined);
  events.on('error', () => undefined);
  open.push(queue, worker, events);
  await queue.add('n', { n: 1 });
  await new Promise<void>((resolve) => worker.once('completed', () => resolve()));

  // The replica cut off first: the marker written then is lost with the primary.
  const killed = await set.killPrimary({ loseWritesMs: 300, marker: 'lost-marker' });
  process.stdout.write(`killed ${killed}\n`);
  // Commands sent while the primary is gone wait for the new one (maxRetriesPerRequest: null).
  const during = redis.set('during', '2');
  const promoted = await set.waitForFailover(killed);
  process.stdout.write(`promoted ${promoted}\n`);
  expect(promoted).not.toBe(killed);
  await during;
  expect(await redis.get('during')).toBe('2');
  expect(await redis.get('before')).toBe('1');
  expect(await redis.get('lost-marker')).toBeNull();
  expect(await serverPort(redis)).toBe(promoted);

  await queue.add('n', { n: 2 });
  const deadline = Date.now() + 30_000;
  while (!done.includes(2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(done).toContain(2);
  const role = (await redis.call('ROLE')) as unknown[];
  expect(role[0]).toBe('master');
}, 120_000);

it('a SENTINEL FAILOVER the primary survives moves the connection and the worker to the new primary', async () => {
  const old = await set.primaryPort();
  const queue = new Queue('sentinel-manual', { connection: redis });
  const done: number[] = [];
  const worker = new Worker('sentinel-manual', async (job) => void done.push(job.data.n as number), { connection: redis });
  queue.on('error', () => undefined);
  worker.on('error', () => undefined);
  open.push(queue, worker);
  // The first test's killed node comes back as a replica: a failover needs one to promote.
  await set.revive(Number(/:(\d+)$/.exec(set.primaryUrl)?.[1]));

  const sentinel = /^redis\+sentinel:\/\/([^:,]+):(\d+)/.exec(set.url);
  const asked = createRedis(`redis://${sentinel?.[1]}:${sentinel?.[2]}`);
  try {
    await asked.call('SENTINEL', 'FAILOVER', 'wa');
  } finally {
    asked.disconnect();
  }
  const promoted = await set.waitForFailover(old);
  const switchedAt = Date.now();
  // The old primary is alive: the connection stays on it until the sentinels demote it (REPLICAOF,
  // then CLIENT KILL of its clients), then reconnects through them. No write is refused meanwhile.
  let i = 0;
  while ((await serverPort(redis)) !== promoted && Date.now() - switchedAt < 30_000) {
    await redis.set(`after-${i++}`, String(i));
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`on the promoted primary ${Date.now() - switchedAt} ms after the sentinels agreed (${i} writes meanwhile)\n`);
  expect(await serverPort(redis)).toBe(promoted);
  expect(((await redis.call('ROLE')) as unknown[])[0]).toBe('master');
  await queue.add('n', { n: 3 });
  const deadline = Date.now() + 30_000;
  while (!done.includes(3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(done).toContain(3);
}, 120_000);

/** Clients connected to the sentinels, minus the asking connections. */
async function sentinelClients(): Promise<number> {
  const addresses = [...(/^redis\+sentinel:\/\/([^/]+)\//.exec(set.url)?.[1] ?? '').split(',')];
  let total = 0;
  for (const address of addresses) {
    const r = createRedis(`redis://${address}`);
    try {
      total += String(await r.call('CLIENT', 'LIST')).trim().split('\n').length - 1;
    } finally {
      r.disconnect();
    }
  }
  return total;
}

it('closed connections leave no subscriptions open on the sentinels', async () => {
  const before = await sentinelClients();
  const connection = createRedis(set.url);
  connection.on('error', () => undefined);
  const queue = new Queue('sentinel-closed', { connection });
  await queue.add('n', { n: 1 });
  const worker = new Worker('sentinel-closed', async () => undefined, { connection });
  await new Promise<void>((resolve) => worker.once('completed', () => resolve()));
  expect(await sentinelClients()).toBeGreaterThan(before);
  await worker.close();
  await queue.close();
  await connection.quit();
  const deadline = Date.now() + 10_000;
  while ((await sentinelClients()) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(await sentinelClients()).toBe(before);
}, 60_000);
