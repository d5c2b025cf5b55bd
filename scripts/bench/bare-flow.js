'use strict';
/**
 * The composed limit of the e2e sync: the same job graph (`addSyncGraph` from the shared contract:
 * finalize ← per chat (save ← fetch), the same job ids, options, queues and step sizes) run by bare
 * BullMQ workers whose handlers do nothing, with the product's concurrencies, on a private Redis.
 * What it takes is what BullMQ costs per chat however lean the product is; with the store's own
 * rate it bounds e2e: 1 / (1/store + 1/flow).
 */
const path = require('node:path');
const { startRedis } = require('./redis');

const root = path.resolve(__dirname, '..', '..');
const shared = (p) => require(path.join(root, 'packages/shared/dist', p));

async function bareFlow({ chats, messages, fetchConcurrency = 8, saveConcurrency = 8, mediaSlots = 4 }) {
  const { Worker } = require('bullmq');
  const { addSyncGraph, QueueName, sessionQueueName } = shared('contracts');
  const { CatalogFlow, createRedis } = shared('runtime');
  const redis = await startRedis();
  const conn = createRedis(redis.url);
  const flow = new CatalogFlow({ connection: conn });
  const sessionId = 'bare';
  const syncId = `bare${Date.now()}`;
  let finish;
  const done = new Promise((r) => (finish = r));
  // The runner's session worker takes 2 jobs per phone slot plus the media slots (session.worker.ts).
  const workers = [
    new Worker(sessionQueueName(sessionId), async () => ({ messages, calls: 1 }), { connection: conn, concurrency: 2 * fetchConcurrency + mediaSlots }),
    new Worker(QueueName.chatSave, async () => ({ saved: messages }), { connection: conn, concurrency: saveConcurrency }),
    new Worker(
      QueueName.syncFinalize,
      async (job) => {
        if (job.name === 'finalize-sync') finish(performance.now());
      },
      { connection: conn, concurrency: 2 },
    ),
  ];
  try {
    const planned = Array.from({ length: chats }, (_, i) => ({ chatId: `chat${i}@c.us`, limit: messages }));
    const t0 = performance.now();
    await addSyncGraph(flow, sessionId, syncId, planned);
    const t1 = await done;
    const seconds = (t1 - t0) / 1000;
    return { seconds, msgsPerSec: (chats * messages) / seconds };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await flow.close();
    conn.disconnect();
    await redis.stop();
  }
}

module.exports = { bareFlow };
