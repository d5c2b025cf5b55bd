// The body of the graph writer's worker thread (see graph.writer.ts): it adds the job trees the main
// thread built, on a Redis connection of its own, and answers each request with its outcome.
import { parentPort, workerData } from 'node:worker_threads';
import type { CatalogFlowJob } from '@wa-sync/shared/contracts';
import { CatalogFlow, createRedis } from '@wa-sync/shared/runtime';
import type { GraphReply, GraphRequest } from './graph.writer';

const port = parentPort;
if (!port) throw new Error('graph-writer.thread runs only as a worker thread');
const redis = createRedis((workerData as { redisUrl: string }).redisUrl);
// Redis errors reach the adds' promises; a connection error must not end the thread meanwhile.
redis.on('error', () => undefined);
const flow = new CatalogFlow({ connection: redis });

port.on('message', (req: GraphRequest) => {
  if (req.op === 'close') {
    void flow
      .close()
      .catch(() => undefined)
      .then(() => redis.quit().catch(() => redis.disconnect()))
      .finally(() => port.close());
    return;
  }
  const roots = req.roots as CatalogFlowJob[];
  const added = req.op === 'add' ? flow.add(roots[0]) : flow.addBulk(roots);
  added.then(
    () => port.postMessage({ id: req.id, ok: true } satisfies GraphReply),
    (err: Error) => port.postMessage({ id: req.id, ok: false, message: err?.message ?? String(err) } satisfies GraphReply),
  );
});
