import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { InvalidCursorError, StoreBusyError, StoreUnavailableError } from '@wa-sync/shared/store';

/** An error with an HTTP status and a stable code, answered as `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where a request's part is named in a 400's message (Fastify says `querystring`). */
const PART_NAMES: Record<string, string> = { querystring: 'query' };

/**
 * A route schema's validation failure as a 400 naming the first wrong field, as
 * `<part>.<path>: <zod message>` (`params.id: …`, `body.webhooks.0.url: …`).
 */
function validationMessage(err: { validation: { instancePath: string; message?: string }[]; validationContext?: string }): string {
  const issue = err.validation[0];
  const where = PART_NAMES[err.validationContext ?? ''] ?? err.validationContext ?? 'request';
  const path = issue.instancePath.split('/').filter(Boolean).join('.');
  return `${path ? `${where}.${path}` : where}: ${issue.message}`;
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).send({ error: { code, message } });
}

/**
 * ioredis gives up on a command after REDIS_COMMAND_TIMEOUT_MS (Redis down or reconnecting), or
 * when the connection is closed: the request gets a 503 instead of hanging.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.message === 'Command timed out' ||
    err.name === 'MaxRetriesPerRequestError' ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith("Stream isn't writeable")
  );
}

/**
 * A dependency that is down or busy, not a fault of the request: the code and message every entry
 * point answers with (REST with 503, the WebSocket with an `error` frame), and the seconds to wait
 * when known. Null for anything else.
 */
export function unavailableReason(err: unknown): { code: string; message: string; retryAfterS?: number } | null {
  if (err instanceof StoreUnavailableError) {
    return { code: 'store_unavailable', message: `${err.message}; nothing was written, retry after ${err.retryAfterS} s`, retryAfterS: err.retryAfterS };
  }
  if (err instanceof StoreBusyError) {
    return { code: 'store_busy', message: `${err.message}; nothing was written, retry after ${err.retryAfterS} s`, retryAfterS: err.retryAfterS };
  }
  if (isRedisUnavailable(err)) return { code: 'unavailable', message: 'Redis is unreachable; retry later' };
  return null;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err.statusCode, err.code, err.message);
    if (hasZodFastifySchemaValidationErrors(err)) return sendError(reply, 400, 'bad_request', validationMessage(err));
    if (err instanceof InvalidCursorError) return sendError(reply, 400, 'bad_cursor', err.message);
    const unavailable = unavailableReason(err);
    if (unavailable) {
      req.log.warn({ err: err.message, code: unavailable.code }, 'dependency unavailable');
      if (unavailable.retryAfterS !== undefined) reply.header('retry-after', String(unavailable.retryAfterS));
      return sendError(reply, 503, unavailable.code, unavailable.message);
    }
    // Fastify's own 4xx (malformed JSON, unsupported content type, body too large…).
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, (err.code ?? 'bad_request').toLowerCase(), err.message);
    }
    req.log.error({ err }, 'request failed');
    return sendError(reply, 500, 'internal', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
  });
}
