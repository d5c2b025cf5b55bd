import { type CatalogQueueOf, JobProducer, QueueName, runnerCommandsQueueName } from '@wa-sync/shared/contracts';
import { type CatalogHandlers, type CatalogJob, createCatalogWorker, type Logger, openCatalogQueue, type Redis } from '@wa-sync/shared/runtime';
import type { SessionOwnership } from './ownership.loop';
import type { SessionManager } from './session.manager';

type Handlers = CatalogHandlers<typeof QueueName.sessionCommands>;
type CommandJob = CatalogJob<typeof QueueName.sessionCommands>;

export interface CommandsWorkers {
  close(): Promise<void>;
}

/** A forwarded command not taken by its runner within this long: that runner is gone, retry. */
const FORWARD_TIMEOUT_MS = 10_000;

/**
 * Commands from the API reach the session's owner. The API adds them to the shared
 * `session-commands` queue, which every runner consumes: a runner that owns the session runs the
 * command; otherwise it forwards it to the owner's own queue (`session-commands-<runnerId>`) and
 * answers with the owner's result, so a caller waiting on the shared job gets it. A command for an
 * unowned session: `start-session` has the runners claim it at once (least loaded first); others
 * run here (a stop still marks it stopped and forgets the auth on a logout).
 */
export function createCommandsWorkers(sessions: SessionManager, ownership: SessionOwnership, redis: Redis, logger: Logger): CommandsWorkers {
  const handlers: Handlers = {
    'start-session': async ({ sessionId }) => {
      await sessions.start(sessionId);
    },
    'stop-session': async ({ sessionId, logout }) => {
      await sessions.stop(sessionId, { logout });
    },
    // Unowned, it runs here and answers `not-linking`: no client shows a QR for it.
    'pairing-code': ({ sessionId, phoneNumber }) => sessions.pairingCode(sessionId, phoneNumber),
  };
  const unowned: Partial<Handlers> = {
    'start-session': async () => {
      // The API recorded the wish (status `starting`): whichever runner is least loaded claims it.
      await ownership.nudge();
      await ownership.tickNow();
    },
  };
  const me = ownership.runnerId;
  const forwardQueues = new Map<string, CatalogQueueOf<typeof QueueName.sessionCommands>>();

  const forward = async (owner: string, job: CommandJob): Promise<unknown> => {
    let queue = forwardQueues.get(owner);
    if (!queue) {
      queue = openCatalogQueue(QueueName.sessionCommands, runnerCommandsQueueName(owner), { connection: redis });
      queue.on('error', (err) => logger.debug({ owner, err: err.message }, 'forward queue error'));
      forwardQueues.set(owner, queue);
    }
    // Parsed again on the way: the owner runs what the catalog allows, like any other producer's job.
    const forwarded = await new JobProducer(QueueName.sessionCommands, queue).add(job.name, job.data, {
      jobId: `fwd-${job.id}-${job.attemptsMade}`,
      attempts: 1,
      removeOnComplete: { age: 300 },
      removeOnFail: { age: 300 },
    });
    const deadline = Date.now() + FORWARD_TIMEOUT_MS;
    for (;;) {
      const state = await forwarded.getState();
      if (state === 'completed') return (await queue.getJob(forwarded.id!))?.returnvalue;
      if (state === 'failed') throw new Error((await queue.getJob(forwarded.id!))?.failedReason ?? `forwarded ${job.name} failed`);
      if (Date.now() > deadline) {
        await forwarded.remove().catch(() => undefined);
        throw new Error(`runner ${owner} did not take ${job.name} within ${FORWARD_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const routed = {} as Record<string, (data: { sessionId: string }, job: CommandJob) => Promise<unknown>>;
  const ownedOnly = {} as Record<string, (data: { sessionId: string }, job: CommandJob) => Promise<unknown>>;
  for (const [name, handler] of Object.entries(handlers) as [string, (data: { sessionId: string }, job: CommandJob) => Promise<unknown>][]) {
    routed[name] = async (data, job) => {
      const owner = await ownership.ownerOf(data.sessionId);
      if (owner === me) return handler(data, job);
      if (owner) return forward(owner, job);
      const fallback = (unowned as Record<string, typeof handler | undefined>)[name] ?? handler;
      return fallback(data, job);
    };
    ownedOnly[name] = async (data, job) => {
      // Ownership moved since it was forwarded: the shared job retries and finds the new owner.
      if ((await ownership.ownerOf(data.sessionId)) !== me) throw new Error(`runner ${me} no longer owns ${data.sessionId}`);
      return handler(data, job);
    };
  }

  const workers = [
    createCatalogWorker(QueueName.sessionCommands, QueueName.sessionCommands, routed as unknown as Handlers, { connection: redis, concurrency: 4 }, logger),
    // One at a time per runner, so a start and a stop of one session never interleave.
    createCatalogWorker(QueueName.sessionCommands, runnerCommandsQueueName(me), ownedOnly as unknown as Handlers, { connection: redis, concurrency: 1 }, logger),
  ];
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...forwardQueues.values()].map((q) => q.close()));
    },
  };
}
