/**
 * Every 4xx, Fastify's own included (bad URL, unknown route, too long, no upgrade), answers
 * `{ error: { code, message } }` (invariant 6); chat ids up to 256 characters are valid in paths.
 */
import { startApi, type ApiFixture } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';

let redis: PrivateRedis;
let api: ApiFixture;

beforeAll(async () => {
  redis = await startRedis();
  api = await startApi(redis.url);
  await api.store.ensureSession('s1');
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
});

function expectErrorShape(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code?: string) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body);
  expect(body).toEqual({ error: { code: code ?? expect.any(String), message: expect.any(String) } });
}

describe('error shape of the framework errors', () => {
  it('answers a badly percent-encoded URL with a 400 bad_url', async () => {
    for (const url of ['/%E0%A4%A', '/whatsapp-web/session/%zz', '/whatsapp-web/session/s1/chats/%/messages']) {
      expectErrorShape(await api.app.inject({ method: 'GET', url }), 400, 'bad_url');
    }
  });

  it('accepts chat ids up to 256 characters, and answers longer ones with a 400', async () => {
    // Reaches the route: the id is valid, the chat is just not stored.
    const long = await api.app.inject({ method: 'GET', url: `/whatsapp-web/session/s1/chats/${'1'.repeat(250)}@g.us/messages` });
    expectErrorShape(long, 404, 'chat_not_found');
    const encoded = encodeURIComponent('é'.repeat(256));
    expectErrorShape(await api.app.inject({ method: 'GET', url: `/whatsapp-web/session/s1/chats/${encoded}/messages` }), 404, 'chat_not_found');
    expectErrorShape(await api.app.inject({ method: 'GET', url: `/whatsapp-web/session/s1/chats/${'1'.repeat(257)}/messages` }), 400);
    expectErrorShape(await api.app.inject({ method: 'GET', url: `/whatsapp-web/session/s1/chats/${'1'.repeat(5000)}/messages` }), 414, 'url_too_long');
  });

  it('answers GET /ws without an upgrade with a 426 naming the upgrade', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/ws' });
    expectErrorShape(res, 426, 'upgrade_required');
    expect(res.headers.upgrade).toBe('websocket');
  });

  it('answers unknown routes and methods, bad bodies and content types in the same shape', async () => {
    expectErrorShape(await api.app.inject({ method: 'GET', url: '/nope' }), 404, 'not_found');
    expectErrorShape(await api.app.inject({ method: 'PATCH', url: '/whatsapp-web/sessions' }), 404, 'not_found');
    expectErrorShape(
      await api.app.inject({ method: 'POST', url: '/whatsapp-web/session/s1', headers: { 'content-type': 'application/json' }, payload: '{' }),
      400,
    );
    expectErrorShape(
      await api.app.inject({ method: 'POST', url: '/whatsapp-web/session/s1', headers: { 'content-type': 'text/xml' }, payload: '<a/>' }),
      415,
    );
  });
});
