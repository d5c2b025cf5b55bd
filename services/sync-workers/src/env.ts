import { BaseEnv, loadEnv } from '@wa-sync/shared';
import { z } from 'zod';

export const WorkersEnv = BaseEnv.extend({
  /**
   * A job's lock lives this long without renewal (BullMQ `lockDuration`): when a worker dies, its
   * jobs are retried by another worker this long after, at the next stalled check.
   */
  JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** How often a worker looks for jobs whose worker died (BullMQ `stalledInterval`). */
  STALLED_CHECK_MS: z.coerce.number().int().min(1_000).default(30_000),
});
export type WorkersEnv = z.infer<typeof WorkersEnv>;

export const env = loadEnv(WorkersEnv);
