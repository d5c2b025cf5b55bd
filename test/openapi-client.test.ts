/**
 * The OpenAPI document lints clean (Redocly, 0 errors) and a client generated from it
 * (openapi-typescript types + openapi-fetch) compiles and calls every route of the API.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import { buildOpenApiDocument } from '../services/api/src/openapi.document';
import { startApi, type ApiFixture } from './support/api-fixture';
import { CLIENT_SOURCE } from './support/openapi-client';
import { type PrivateRedis, startRedis } from './support/redis-server';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');

type Doc = {
  servers?: { url: string }[];
  paths: Record<string, Record<string, { operationId?: string; requestBody?: { required?: boolean } }>>;
  components: { schemas: Record<string, { properties?: Record<string, { format?: string }> }> };
};

let doc: Doc;
let dir: string;
let redis: PrivateRedis;
let api: ApiFixture;

beforeAll(async () => {
  doc = (await buildOpenApiDocument()) as unknown as Doc;
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-client-'));
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
  redis = await startRedis();
  api = await startApi(redis.url);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[]) {
  const res = spawnSync(join(BIN, bin), args, { cwd: dir, encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
  return { status: res.status, output: `${res.stdout}\n${res.stderr}` };
}

describe('OpenAPI document', () => {
  it('has what generated clients need: optional sync-chats body, operationIds, named schemas, date-time, servers', () => {
    expect(doc.paths['/whatsapp-web/session/{id}/sync-chats'].post.requestBody?.required).toBe(false);
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Chat', 'Message', 'Session', 'SyncSnapshot', 'Error']));
    expect(doc.components.schemas.Message.properties?.timestamp.format).toBe('date-time');
    expect(doc.components.schemas.Chat.properties?.lastMessageAt.format).toBe('date-time');
    expect(doc.servers?.length).toBeGreaterThan(0);
  });

  it('lints with 0 errors (Redocly recommended rules)', () => {
    const lint = run('redocly', ['lint', 'openapi.json']);
    expect({ status: lint.status, output: lint.status === 0 ? '' : lint.output }).toEqual({ status: 0, output: '' });
  });

  it('generates a typed client that compiles and calls every route', async () => {
    const gen = run('openapi-typescript', ['openapi.json', '-o', 'schema.d.ts']);
    expect({ status: gen.status, output: gen.status === 0 ? '' : gen.output }).toEqual({ status: 0, output: '' });
    writeFileSync(join(dir, 'client.ts'), CLIENT_SOURCE);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'commonjs',
          moduleResolution: 'node10',
          lib: ['ES2022', 'DOM'],
          types: [],
          skipLibCheck: true,
          esModuleInterop: true,
          baseUrl: '.',
          paths: { 'openapi-fetch': [join(ROOT, 'node_modules/openapi-fetch/dist/index.d.cts')] },
        },
        files: ['client.ts'],
      }),
    );
    const tsc = run('tsc', ['-p', 'tsconfig.json']);
    expect({ status: tsc.status, output: tsc.status === 0 ? '' : tsc.output }).toEqual({ status: 0, output: '' });

    // Something to read back: a ready session with a stored chat and message.
    const chatId = '5511999990000@c.us';
    await api.store.ensureSession('client-test');
    await api.store.upsertChats('client-test', [{ id: chatId, name: 'Ana', isGroup: false, unreadCount: 0, lastMessageAt: null }]);
    await api.store.upsertMessages('client-test', chatId, [
      { id: `false_${chatId}_A1`, chatId, fromMe: false, author: null, body: 'hi', type: 'chat', timestamp: new Date().toISOString(), ack: 1, hasMedia: false },
    ]);
    await api.store.upsertContacts('client-test', [{ id: chatId, name: 'Ana', pushname: 'Ana 🌻', number: '5511999990000', isBusiness: false, isMyContact: true }]);
    await api.store.setSessionStatus('client-test', 'ready');
    const { callEveryRoute } = require(join(dir, 'client.js')) as {
      callEveryRoute: (c: typeof createClient, base: string, chatId: string) => Promise<Record<string, number>>;
    };
    const base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const calls = await callEveryRoute(createClient, base, chatId);
    expect(calls).toEqual({
      startSession: 200,
      listSessions: 200,
      getSession: 200,
      listChats: 200,
      listMessages: 200,
      listContacts: 200,
      getChat: 200,
      getMediaCounts: 200,
      getMessageMedia: 404,
      syncChats: 202,
      syncChatsNarrow: 202,
      getSync: 404,
      badRequest: 400,
      stopSession: expect.any(Number),
      getLiveness: 200,
      getReadiness: 200,
      getMetrics: 200,
      openWebSocket: 426,
      bullBoard: 200,
      getDashboard: 200,
      getRunners: 200,
      getSessionMessagesRecent: 200,
      getSessionQr: 404,
      postSessionPairingCode: 409,
      getSessionEvents: 200,
      mintSessionToken: 201,
      revokeSessionTokens: 204,
    });
    expect(calls.stopSession).toBeLessThan(300);
    // Every documented operation was called.
    const documented = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId!));
    expect(documented.filter((id) => !(id in calls)).sort()).toEqual([]);
  });
});
