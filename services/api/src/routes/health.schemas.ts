import { z } from 'zod';

export const Healthy = z.object({ status: z.literal('ok') });

/** `ok`, or `down: <reason>` for the dependency that failed. */
const Check = z.string();

export const Readiness = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ redis: Check, store: Check }),
});
export type Readiness = z.infer<typeof Readiness>;
