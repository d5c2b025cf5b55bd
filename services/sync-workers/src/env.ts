import { BaseEnv, loadEnv } from '@wa-sync/shared';
import { z } from 'zod';

export const WorkersEnv = BaseEnv.extend({
  /**
   * A job's lock lives this long without renewal (BullMQ `lockDuration`): when a worker dies, its
   * jobs are retried by another worker this long after, at the next stalled check. BullMQ renews
   * it every half while the job runs, so it need not outlast the longest job.
   */
  JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(15_000),
  /** How often a worker looks for jobs whose worker died (BullMQ `stalledInterval`). */
  STALLED_CHECK_MS: z.coerce.number().int().min(500).default(5_000),
});
export type WorkersEnv = z.infer<typeof WorkersEnv>;

export const env = loadEnv(WorkersEnv);
