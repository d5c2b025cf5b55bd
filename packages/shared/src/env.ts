import { z } from 'zod';
import { parseRedisUrl } from './redis-url.parser';

/** Fields every service reads; each service's env.ts extends these. */
export const BaseEnv = z.object({
  REDIS_URL: z.string().superRefine((url, ctx) => {
    try {
      parseRedisUrl(url);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  }),
  STORE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+|mongodb(\+srv)?:\/\/.+)$/, 'must be sqlite:<path>, postgres://…/<db> or mongodb://…/<db>')
    .default('sqlite:./data/wa-sync.db'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SYNC_LIMIT_PER_CHAT: z.coerce.number().int().min(1).max(10_000).default(100),
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Session events kept per session in the event log, for resume (WS `since`, SSE `Last-Event-ID`). */
  EVENT_LOG_MAXLEN: z.coerce.number().int().min(10).max(1_000_000).default(2000),
  /** On SIGTERM/SIGINT: stop taking work, let active work finish, close; exit anyway after this. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1).default(15_000),
});

/** "true"/"false"/"1"/"0" (z.coerce.boolean would read "false" as true). */
export const booleanString = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/**
 * Parses the environment once at boot. A bad value stops the process with a message naming
 * the variable, before anything connects anywhere.
 */
export function loadEnv<S extends z.ZodTypeAny>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`).join('\n');
  process.stderr.write(`wa-sync: invalid environment\n${problems}\n`);
  process.exit(1);
}
