import { SessionId } from '@wa-sync/shared/contracts';
import { z } from 'zod';

/** Every 4xx/5xx answer (DESIGN invariant 6). */
export const ErrorBody = z.object({
  error: z.object({
    /** Stable, machine-readable: `bad_request`, `unauthorized`, `rate_limited`, `session_not_found`… */
    code: z.string(),
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const SessionParams = z.object({ id: SessionId });
