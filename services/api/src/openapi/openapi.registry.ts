import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from './error.schemas';
import { defaultOperationId, finishDocument } from './openapi.components';

/**
 * Route schemas: the zod schemas of params, query and body are what Fastify validates with (the
 * zod type provider, so handlers get them typed) and what the OpenAPI document shows, so the docs
 * and the validation cannot drift. Responses are documented, not checked: replies are plain JSON.
 */

export const DOCS_PATH = '/docs';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: the message names the field',
  401: 'Missing or wrong API key or session token (`unauthorized`), or an expired (`token_expired`) or revoked (`token_revoked`) token',
  403: 'A session token that does not reach this route (`forbidden`): another session, a missing scope, or an operator-only route',
  404: 'Not found',
  409: 'Conflict with the current state',
  429: 'Rate limited; retry after the `Retry-After` header (seconds)',
  500: 'Internal error',
  503: 'Redis (or the store) is unreachable, or the server is shutting down',
};

type Zod = z.ZodType;

interface JsonResponse {
  description: string;
  schema: Zod;
}

interface RawResponse {
  description: string;
  /** e.g. `{ 'text/plain': { schema: { type: 'string' } } }` */
  content: Record<string, { schema: Record<string, unknown> }>;
}

/** A response without a body (204). */
interface EmptyResponse {
  description: string;
  empty: true;
}

type Part = Zod | undefined;

export interface RouteDoc<P extends Part = undefined, Q extends Part = undefined, B extends Part = undefined> {
  /** Stable name for generated clients; derived from the method and path when absent. */
  operationId?: string;
  summary: string;
  tags: string[];
  description?: string;
  params?: P;
  querystring?: Q;
  body?: B;
  /** Success (and other non-error) responses by status code. */
  responses: Record<number, JsonResponse | RawResponse | EmptyResponse>;
  /** Error statuses this route answers with `{ error: { code, message } }`; 500 is always added. */
  errors?: number[];
  /** No API key needed (health probes). */
  public?: boolean;
  /** How the key may come; default `Authorization: Bearer` (none when public). */
  security?: Record<string, string[]>[];
}

/** JSON Schema (OpenAPI 3.0 dialect) of a zod schema, as a request (`input`) or response (`output`). */
export function jsonSchema(schema: Zod, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** A route's schema; the zod parts keep their types, so `req.params`/`req.query`/`req.body` arrive typed. */
export type RouteSchema<P extends Part, Q extends Part, B extends Part> = FastifySchema & { params: P; querystring: Q; body: B };

export function routeSchema<P extends Part = undefined, Q extends Part = undefined, B extends Part = undefined>(
  doc: RouteDoc<P, Q, B>,
): RouteSchema<P, Q, B> {
  const response: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    if ('empty' in r) response[status] = { type: 'null', description: r.description };
    else response[status] = 'schema' in r ? { description: r.description, ...jsonSchema(r.schema, 'output') } : r;
  }
  const errors = new Set([...(doc.errors ?? []), ...(doc.public ? [] : [401, 403]), 500]);
  for (const status of [...errors].sort((a, b) => a - b)) {
    response[status] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...jsonSchema(ErrorBody, 'output') };
  }
  return {
    ...(doc.operationId ? { operationId: doc.operationId } : {}),
    summary: doc.summary,
    tags: doc.tags,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.body ? { body: doc.body } : {}),
    response,
    security: doc.security ?? (doc.public ? [] : [{ bearerAuth: [] }]),
  } as RouteSchema<P, Q, B>;
}

function isZod(schema: unknown): schema is Zod {
  return typeof schema === 'object' && schema !== null && '_zod' in schema;
}

/**
 * Requests are validated by their zod schemas (the error handler turns a failure into a 400 naming
 * the field); an absent body is `{}`. Schemas that are not zod (plugins' own routes) are not
 * checked, as before. Replies are plain JSON.stringify: response schemas are for the docs.
 */
export function useZodValidation(app: FastifyInstance): void {
  app.setValidatorCompiler((route) => {
    if (!isZod(route.schema)) return (value: unknown) => ({ value });
    const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]) as unknown as (value: unknown) => { value?: unknown; error?: Error };
    return (value: unknown) => validate(value ?? {});
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** The zod parts of a route's schema as JSON Schema, for the document. */
function documentedParts(schema: FastifySchema | undefined): FastifySchema | undefined {
  if (!schema) return schema;
  const out: Record<string, unknown> = { ...schema };
  for (const part of ['params', 'querystring', 'body', 'headers'] as const) {
    const value = schema[part];
    if (isZod(value)) out[part] = jsonSchema(value, 'input');
  }
  return out as FastifySchema;
}

/** Routes that are not plain JSON routes (the WebSocket, the Bull Board UI), documented by hand. */
function extraPaths(boardPath: string): Record<string, unknown> {
  const error401 = { description: ERROR_DESCRIPTIONS[401], content: { 'application/json': { schema: jsonSchema(ErrorBody, 'output') } } };
  return {
    '/ws': {
      get: {
        operationId: 'openWebSocket',
        tags: ['websocket'],
        summary: 'WebSocket: `{ event, data }` frames; join a session to receive its events',
        description:
          'Client → server: `join-session {sessionId, since?}`, `leave-session {sessionId}`, and with the operator key ' +
          '`watch-sessions {}` / `unwatch-sessions {}` (every session: `sessions`, then `session:status {sessionId, status, detail, runnerId, lastSync}`, `session:removed`). ' +
          'Server → client: `joined`, `qr`, `authenticated`, `ready`, `status`, `sync_chats`, `sync_error`, `disconnected`, `message:new`, `message:status`, ' +
          '`message:edit`, `message:revoke`, `message:reaction`, `message:media`, `session_ready`, `left`, `error` (`unknown-event`, `bad_frame`, `bad_request`). ' +
          'Logged events carry their log `id`; `since: <id>` replays what came after it, then goes live (`joined.resumed`). ' +
          'Frames over 64 KiB close the socket (1009); pings every 30 s; a browser Origin outside CORS_ORIGINS is refused (403). ' +
          'With API_KEY/API_KEYS set, the key or a session token goes in `Authorization: Bearer` or `?token=`; without one the upgrade is ' +
          'refused with a 401. `join-session` needs the `stream` scope of that session (else `error {code: "forbidden"}`); a socket ' +
          'whose token expires or is revoked is closed with code 4401.',
        parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'The API key (browsers cannot set headers on a WebSocket)' }],
        responses: { 101: { description: 'Switching protocols' }, 401: error401, 403: { description: 'Origin not allowed (CORS_ORIGINS)', content: error401.content } },
        security: [{ bearerAuth: [] }, { tokenQuery: [] }],
      },
    },
    '/': {
      get: {
        operationId: 'getDashboard',
        tags: ['ops'],
        summary: 'The dashboard: a web page (and its /assets/…), loaded without a key; the key is typed into it',
        description: 'Every call the page makes carries the key it was given. Built by `npm run build` (see docs/dashboard.md).',
        responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
        security: [],
      },
    },
    [boardPath]: {
      get: {
        operationId: 'bullBoard',
        tags: ['ops'],
        summary: 'Bull Board: every queue with its jobs (read-only unless BULL_BOARD_READ_ONLY=false)',
        description: 'A web UI. Browsers may send the API key as the password of HTTP Basic auth (any user name).',
        responses: { 200: { description: 'The UI', content: { 'text/html': { schema: { type: 'string' } } } }, 401: error401 },
        security: [{ bearerAuth: [] }, { basicAuth: [] }],
      },
    },
  };
}

/** `/docs/json` (the OpenAPI document) and `/docs` (Swagger UI). Register before the routes. */
export async function registerOpenApi(app: FastifyInstance, options: { boardPath: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'wa-sync',
        version: options.version,
        description: 'Links WhatsApp accounts and keeps their chats and messages synchronised into a database.',
        license: { name: 'UNLICENSED' },
      },
      // The default listen address (PORT/HOST); a client of another deployment sets its own base URL.
      servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start on this machine' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An operator key (API_KEY, API_KEYS), or a session token (POST …/tokens) on its own session' },
          basicAuth: { type: 'http', scheme: 'basic', description: 'API_KEY as the password (browser UIs only)' },
          tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The key or a session token (WebSocket, the SSE events stream and the media route only)' },
        },
      },
      // Hand-written OpenAPI path items; openapi-types (not a direct dependency) would only restate them.
      paths: extraPaths(options.boardPath) as never,
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0];
      return { schema: { ...documentedParts(schema), operationId: schema?.operationId ?? defaultOperationId(method, url) } as FastifySchema, url };
    },
    transformObject: (documentObject) =>
      finishDocument((documentObject as { openapiObject: Record<string, unknown> }).openapiObject, jsonSchema) as never,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH });
}
