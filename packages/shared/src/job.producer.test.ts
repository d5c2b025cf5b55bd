/**
 * Producers typed from the job catalog. The `@ts-expect-error` lines are checked by
 * `npm run typecheck`: if any of them compiled, the type check would fail.
 */
import { FlowProducer, Queue } from 'bullmq';
import { suiteRedis } from '../../../test/support/redis-server';
import { type CatalogFlow, openCatalogQueue } from './catalog.queue';
import { type CatalogQueueOf, type InspectQueue, JobProducer, flowJob, parseJobResult } from './job.producer';
import { QueueName } from './queue.names';

const suite = suiteRedis();

/** Never called: only compiled. Each line must fail to compile. */
export function compileTimeChecks(
  commands: JobProducer<typeof QueueName.sessionCommands>,
  session: JobProducer<'session'>,
  rawCommands: CatalogQueueOf<typeof QueueName.sessionCommands>,
  inspected: InspectQueue,
  flow: CatalogFlow,
): void {
  // @ts-expect-error a queue opened for a catalog takes none of the names it does not list
  void rawCommands.add('no-such-job', {});
  // @ts-expect-error a queue opened to look at takes no job at all
  void inspected.add('start-session', { sessionId: 's' });
  // @ts-expect-error a flow node not built (typed and parsed) by flowJob
  void flow.add({ name: 'finalize-sync', queueName: QueueName.syncFinalize, data: {} });
  // @ts-expect-error a job the catalog does not list
  void commands.add('no-such-job', {});
  // @ts-expect-error a job of another queue
  void commands.add('sync-start', { sessionId: 's' });
  // @ts-expect-error a payload missing a field
  void session.add('fetch-messages', { sessionId: 's', syncId: 'x', chatId: 'c' });
  // @ts-expect-error a field of the wrong type
  void commands.add('stop-session', { sessionId: 's', logout: 'yes' });
  // @ts-expect-error a flow child with a job name its queue does not have
  flowJob(QueueName.chatSave, 'fetch-messages', { queueName: QueueName.chatSave, data: {} });
  // @ts-expect-error a result of a job that returns none
  parseJobResult(QueueName.sessionCommands, 'start-session', {});
}

describe('JobProducer', () => {
  it('adds a job with its catalog options, and refuses a bad payload before it reaches Redis', async () => {
    const queue = openCatalogQueue(QueueName.sessionCommands, `${QueueName.sessionCommands}-producer-test`, { connection: suite.redis });
    const commands = new JobProducer(QueueName.sessionCommands, queue);
    const job = await commands.add('stop-session', { sessionId: 'abc' });
    // Defaults are applied by the schema, retries by the catalog.
    expect(job.data).toEqual({ sessionId: 'abc', logout: false });
    expect(job.opts.attempts).toBe(3);
    // Untyped callers (plain JavaScript, a cast) are caught at run time.
    await expect(commands.add('start-session', { sessionId: 'not valid!' } as never)).rejects.toThrow(/session id/);
    await expect(commands.add('no-such-job' as never, {} as never)).rejects.toThrow(/not in the catalog/);
    expect(await queue.count()).toBe(1);
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('builds flows whose every node is parsed, and parses results where they are read', async () => {
    expect(() =>
      flowJob(QueueName.syncFinalize, 'finalize-sync', {
        queueName: QueueName.syncFinalize,
        data: { sessionId: 's1', syncId: 'x', chatIds: [] },
        children: [flowJob(QueueName.chatSave, 'save-chat', { queueName: QueueName.chatSave, data: { sessionId: 's1', syncId: 'x', chatId: '' } })],
      }),
    ).toThrow(/chatId/);
    const flow = new FlowProducer({ connection: suite.redis });
    const node = flowJob(QueueName.syncFinalize, 'finalize-sync', {
      queueName: `${QueueName.syncFinalize}-producer-test`,
      data: { sessionId: 's1', syncId: 'x', chatIds: ['c'] },
    });
    const added = await flow.add(node);
    expect(added.job.opts.attempts).toBe(10);
    await flow.close();
    const q = new Queue(`${QueueName.syncFinalize}-producer-test`, { connection: suite.redis });
    await q.obliterate({ force: true });
    await q.close();

    expect(parseJobResult('session', 'fetch-messages', { stagingKey: 'k', count: 3 })).toEqual({ stagingKey: 'k', count: 3 });
    expect(() => parseJobResult('session', 'fetch-messages', { count: 'many' })).toThrow();
  });
});
