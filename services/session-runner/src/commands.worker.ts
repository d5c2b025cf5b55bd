import { type Worker } from 'bullmq';
import { type Logger, type Redis, QueueName, createCatalogWorker } from '@wa-sync/shared';
import type { SessionManager } from './session.manager';

/** Start/stop commands from the API. */
export function createCommandsWorker(sessions: SessionManager, redis: Redis, logger: Logger): Worker {
  return createCatalogWorker(
    QueueName.sessionCommands,
    QueueName.sessionCommands,
    {
      'start-session': async ({ sessionId }) => {
        await sessions.start(sessionId);
      },
      'stop-session': async ({ sessionId, logout }) => {
        await sessions.stop(sessionId, { logout });
      },
    },
    // Commands are handled one session at a time per command so start/stop never interleave badly.
    { connection: redis, concurrency: 1 },
    logger,
  );
}
