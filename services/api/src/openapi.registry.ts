import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import { defaultOperationId, finishDocument } from './openapi.components';
import { ErrorBody } from './routes/common.schemas';

/**
 * Route schemas for the OpenAPI document, derived from the same zod schemas the handlers parse
 * with (`parseRequest`), so the docs and the validation cannot drift. Fastify itself neither
 * validates nor serializes with them (see `useZodOnly`): zod stays the one validator.
 */

export const DOCS_PATH = '/docs';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: the message names the field',
  401: 'Missing or wrong API key (when API_KEY is set)',
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

export interface RouteDoc {
  /** Stable name for generated clients; derived from the method and path when absent. */
  operationId?: string;
  summary: string;
  tags: string[];
  description?: string;
  params?: Zod;
  querystring?: Zod;
  body?: Zod;
  /** Success (and other non-error) responses by status code. */
  responses: Record<number, JsonResponse | RawResponse>;
  /** Error statuses this route answers with `{ error: { code, message } }`; 500 is always added. */
  errors?: number[];
  /** No API key needed (health probes). */
  public?: boolean;
}

/** JSON Schema (OpenAPI 3.0 dialect) of a zod schema, as a request (`input`) or response (`output`). */
export function jsonSchema(schema: Zod, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function routeSchema(doc: RouteDoc): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    response[status] = 'schema' in r ? { description: r.description, ...jsonSchema(r.schema, 'output') } : r;
  }
  const errors = new Set([...(doc.errors ?? []), ...(doc.public ? [] : [401]), 500]);
  for (const status of [...errors].sort((a, b) => a - b)) {
    response[status] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...jsonSchema(ErrorBody, 'output') };
  }
  return {
    ...(doc.operationId ? { operationId: doc.operationId } : {}),
    summary: doc.summary,
    tags: doc.tags,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.params ? { params: jsonSchema(doc.params, 'input') } : {}),
    ...(doc.querystring ? { querystring: jsonSchema(doc.querystring, 'input') } : {}),
    ...(doc.body ? { body: jsonSchema(doc.body, 'input') } : {}),
    response,
    security: doc.public ? [] : [{ bearerAuth: [] }],
  };
}

/**
 * Schemas on routes are for the docs only: requests are parsed by zod in the handlers (clear 400s,
 * one source of truth) and replies are plain JSON.stringify, as they were before the schemas.
 */
export function useZodOnly(app: FastifyInstance): void {
  app.setValidatorCompiler(() => (value) => ({ value }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
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
          'Client → server: `join-session {sessionId, since?}`, `leave-session {sessionId}`. Server → client: `joined`, `qr`, ' +
          '`authenticated`, `ready`, `status`, `sync_chats`, `sync_error`, `disconnected`, `message:new`, `message:status`, ' +
          '`message:edit`, `message:revoke`, `session_ready`, `left`, `error` (`unknown-event`, `bad_frame`, `bad_request`). ' +
          'Logged events carry their log `id`; `since: <id>` replays what came after it, then goes live (`joined.resumed`). ' +
          'Frames over 64 KiB close the socket (1009); pings every 30 s; a browser Origin outside CORS_ORIGINS is refused (403). ' +
          'With API_KEY set, the key goes in `Authorization: Bearer` or `?token=`; without it the upgrade is refused with a 401.',
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
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API_KEY, when it is set' },
          basicAuth: { type: 'http', scheme: 'basic', description: 'API_KEY as the password (browser UIs only)' },
          tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'API_KEY (WebSocket and the SSE events stream only)' },
        },
      },
      // Hand-written OpenAPI path items; openapi-types (not a direct dependency) would only restate them.
      paths: extraPaths(options.boardPath) as never,
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0];
      return { schema: { ...schema, operationId: schema?.operationId ?? defaultOperationId(method, url) } as FastifySchema, url };
    },
    transformObject: (documentObject) =>
      finishDocument((documentObject as { openapiObject: Record<string, unknown> }).openapiObject, jsonSchema) as never,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH });
}
