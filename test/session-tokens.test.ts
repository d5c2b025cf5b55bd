/**
 * Minting and revoking session tokens through the API (in-process, real Redis, SQLite): the
 * operator's routes, their validation, and what verify says of the tokens they hand out. Which
 * routes a token opens is the access matrix's (the scope hook), not this file's.
 */
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { TokenError } from '../services/api/src/auth/session-token.service';

const KEY = 'operator-key-for-token-tests';
const S = 'token-session';

let redisServer: PrivateRedis;
let api: ApiFixture;
beforeAll(async () => {
  redisServer = await startRedis();
  api = await startApi(redisServer.url, { apiKey: KEY });
  await api.store.ensureSession(S);
});
afterAll(async () => {
  await api?.close();
  await redisServer?.stop();
});

const auth = { authorization: `Bearer ${KEY}` };
const mint = (body: unknown, headers: Record<string, string> = auth, id = S) =>
  api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${id}/tokens`, headers, payload: body as object });
const revoke = (headers: Record<string, string> = auth, id = S) => api.app.inject({ method: 'DELETE', url: `/whatsapp-web/session/${id}/tokens`, headers });
const refusal = (token: string) =>
  api.deps.tokens.verify(token).then(
    () => 'accepted',
    (err: unknown) => (err instanceof TokenError ? err.code : String(err)),
  );

describe('POST /whatsapp-web/session/:id/tokens', () => {
  it('mints read+stream for an hour by default', async () => {
    const res = await mint({});
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({ token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), sessionId: S, scopes: ['read', 'stream'], expiresAt: expect.any(String) });
    expect(Math.round((Date.parse(body.expiresAt) - Date.now()) / 60_000)).toBe(60);
    await expect(api.deps.tokens.verify(body.token)).resolves.toMatchObject({ sessionId: S, scopes: ['read', 'stream'] });
    // The token never reaches the logs.
    expect(api.logs.join('\n')).not.toContain(body.token);
    expect(api.logs.join('\n')).toContain('session token minted');
  });

  it('mints the scopes and lifetime asked for', async () => {
    const res = await mint({ scopes: ['control'], ttlSeconds: 60 });
    expect(res.statusCode).toBe(201);
    expect(res.json().scopes).toEqual(['control']);
    expect((Date.parse(res.json().expiresAt) - Date.now()) / 1000).toBeLessThanOrEqual(60);
  });

  it.each([
    ['a lifetime under 60 s', { ttlSeconds: 59 }, /body\.ttlSeconds/],
    ['a lifetime over 24 h', { ttlSeconds: 86_401 }, /body\.ttlSeconds/],
    ['a fractional lifetime', { ttlSeconds: 90.5 }, /body\.ttlSeconds/],
    ['an unknown scope', { scopes: ['admin'] }, /body\.scopes\.0/],
    ['no scope', { scopes: [] }, /body\.scopes/],
    ['scopes that are not a list', { scopes: 'read' }, /body\.scopes/],
  ])('refuses %s with a 400 naming the field', async (_what, body, field) => {
    const res = await mint(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(field) } });
  });

  it('answers 404 for a session that does not exist', async () => {
    const res = await mint({}, auth, 'no-such-session');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('session_not_found');
  });

  it('is refused without the operator key, and with a session token', async () => {
    expect((await mint({}, {})).statusCode).toBe(401);
    const { token } = (await mint({ scopes: ['read', 'stream', 'control'] })).json();
    // Even a token of this session with every scope: minting and revoking are the operator's.
    const withToken = await mint({}, { authorization: `Bearer ${token}` });
    expect(withToken.statusCode).toBe(403);
    expect(withToken.json().error.code).toBe('forbidden');
    const revokeWithToken = await revoke({ authorization: `Bearer ${token}` });
    expect(revokeWithToken.statusCode).toBe(403);
    expect(revokeWithToken.json().error.code).toBe('forbidden');
    await expect(api.deps.tokens.verify(token)).resolves.toMatchObject({ sessionId: S });
  });
});

describe('DELETE /whatsapp-web/session/:id/tokens', () => {
  it('revokes every token of the session minted so far, not other sessions\' nor later ones', async () => {
    const other = 'token-other-session';
    await api.store.ensureSession(other);
    const [a, b] = [(await mint({})).json().token, (await mint({ scopes: ['control'] })).json().token];
    const elsewhere = (await mint({}, auth, other)).json().token;

    const res = await revoke();
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await refusal(a)).toBe('token_revoked');
    expect(await refusal(b)).toBe('token_revoked');
    expect(await refusal(elsewhere)).toBe('accepted');
    const fresh = (await mint({})).json().token;
    expect(await refusal(fresh)).toBe('accepted');
  });

  it('answers 404 for a session that does not exist, and 401 without the key', async () => {
    expect((await revoke(auth, 'no-such-session')).statusCode).toBe(404);
    expect((await revoke({})).statusCode).toBe(401);
  });
});
