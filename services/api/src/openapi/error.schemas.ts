import { z } from 'zod';
import { named } from './schema.names';

/** Every 4xx/5xx answer (DESIGN invariant 6). */
export const ErrorBody = named(
  'Error',
  z.object({
    error: z.object({
      /** Stable, machine-readable: `bad_request`, `unauthorized`, `rate_limited`, `session_not_found`… */
      code: z.string(),
      message: z.string(),
    }),
  }),
);
export type ErrorBody = z.infer<typeof ErrorBody>;
