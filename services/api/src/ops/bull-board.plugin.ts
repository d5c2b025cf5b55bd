import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { InspectQueue } from '@wa-sync/shared/contracts';
import type { FastifyInstance } from 'fastify';
import type { QueueDirectory } from './queue.directory';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board on every queue of the directory. Its queue list is brought up to date on the
 * board's own requests (the UI polls), so per-session queues appear and disappear without a
 * timer running while nobody watches. Auth is the app's `onRequest` hook, which runs first.
 */
export async function registerBullBoard(app: FastifyInstance, directory: QueueDirectory, readOnly: boolean): Promise<void> {
  const adapters = new Map<InspectQueue, BullMQAdapter>();
  const adapterOf = (queue: InspectQueue): BullMQAdapter => {
    let adapter = adapters.get(queue);
    // Bull Board's own actions (retry, promote, clean) are an operator's; the app itself adds nothing here.
    if (!adapter) adapters.set(queue, (adapter = new BullMQAdapter(queue as unknown as Queue, { readOnlyMode: readOnly })));
    return adapter;
  };

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const board = createBullBoard({
    // Given at creation: the board reads "read-only" off these.
    queues: directory.fixed().map(adapterOf),
    // @bull-board/api is pinned to the version @bull-board/fastify pins, so their types agree.
    serverAdapter,
    options: { uiConfig: { boardTitle: 'wa-sync' } },
  });

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async () => {
        const queues = await directory.list();
        for (const queue of adapters.keys()) if (!queues.includes(queue)) adapters.delete(queue);
        board.replaceQueues(queues.map(adapterOf));
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: BOARD_PATH },
  );
}
