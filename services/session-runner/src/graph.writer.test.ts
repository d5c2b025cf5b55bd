/**
 * The graph writer's thread against a private redis-server: its adds land in BullMQ as the
 * in-process FlowProducer's would, a failed add is the caller's error, and a thread that dies
 * fails what was in flight, then the next add starts another. Runs the built thread (npm test
 * builds first).
 */
import { QueueName, SyncJobId, finalizeParent, flowJob } from '@wa-sync/shared/contracts';
import { createLogger } from '@wa-sync/shared/runtime';
import { suiteRedis } from '../../../test/support/redis-server';
import { ThreadedGraphFlow } from './graph.writer';

const suite = suiteRedis();
let flow: ThreadedGraphFlow;

beforeAll(() => {
  flow = new ThreadedGraphFlow(suite.url, suite.redis, createLogger('test', 'silent'));
});
afterAll(() => flow?.close());

const finalize = (syncId: string, children = [] as ReturnType<typeof flowJob>[]) =>
  flowJob(QueueName.syncFinalize, 'finalize-sync', {
    queueName: QueueName.syncFinalize,
    data: { sessionId: 's', syncId, chatIds: ['1@c.us'] },
    opts: { jobId: SyncJobId.finalize(syncId) },
    children,
  });
const save = (syncId: string, i: number, parent?: { id: string; queue: string }) =>
  flowJob(QueueName.chatSave, 'save-chat', {
    queueName: QueueName.chatSave,
    data: { sessionId: 's', syncId, chatId: `${i}@c.us` },
    opts: { jobId: SyncJobId.save(syncId, i), ...(parent ? { parent } : {}) },
  });

it('adds a tree, then further children under its root, from the thread', async () => {
  await flow.add(finalize('a', [save('a', 0)]));
  await flow.addBulk([save('a', 1, finalizeParent('a'))]);
  const root = await flow.getJob(QueueName.syncFinalize, 'finalize-a');
  expect(root?.data).toMatchObject({ syncId: 'a' });
  expect(await root!.getDependenciesCount()).toMatchObject({ unprocessed: 2 });
});

it("rejects with BullMQ's error when an add fails in the thread", async () => {
  const bad = { ...save('b', 0), opts: { jobId: 'save:b' } } as ReturnType<typeof flowJob>;
  await expect(flow.addBulk([bad])).rejects.toThrow('Custom Id cannot contain :');
  // The thread goes on: the next add lands.
  await flow.add(finalize('b'));
  expect(await flow.getJob(QueueName.syncFinalize, 'finalize-b')).toBeDefined();
});

it('fails the adds in flight when the thread dies, and starts another for the next add', async () => {
  const thread = (flow as unknown as { thread: { terminate(): Promise<number> } }).thread;
  // Redis holds writes back, so the add is surely still in flight when the thread dies.
  await suite.redis.call('CLIENT', 'PAUSE', '10000', 'WRITE');
  const inFlight = flow.add(finalize('c', [save('c', 0)]));
  try {
    await thread.terminate();
    await expect(inFlight).rejects.toThrow(/exited/);
  } finally {
    await suite.redis.call('CLIENT', 'UNPAUSE');
  }
  await flow.add(finalize('d', [save('d', 0)]));
  expect(await flow.getJob(QueueName.syncFinalize, 'finalize-d')).toBeDefined();
});
