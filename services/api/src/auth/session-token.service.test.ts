import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { createStore, type Store } from '@wa-sync/shared/store';
import { SessionTokens, TokenError, type TokenErrorCode } from './session-token.service';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SignJWT } = require('jose') as typeof Jose;
const dir = mkdtempSync(join(tmpdir(), 'wa-sync-tokens-'));
const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
let store: Store;
let other: Store;

beforeAll(async () => {
  // Two handles on one SQLite file: two API processes on one store.
  store = await createStore(`sqlite:${join(dir, 'store.db')}`);
  other = await createStore(`sqlite:${join(dir, 'store.db')}`);
});
afterAll(async () => {
  await store?.close();
  await other?.close();
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function refusal(tokens: SessionTokens, token: string): Promise<TokenErrorCode> {
  try {
    await tokens.verify(token);
  } catch (err) {
    if (err instanceof TokenError) {
      if (token.length >= 20) expect(err.message).not.toContain(token.slice(0, 20));
      return err.code;
    }
    throw err;
  }
  throw new Error('the token was accepted');
}

/** A token as we mint them, with claims and header the test chooses, signed with `key`. */
function craft(claims: Record<string, unknown>, alg = 'HS256', key = SECRET, exp = now() + 600) {
  return new SignJWT({ scopes: ['read'], epoch: 0, ...claims })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setSubject('s1')
    .setIssuer('wa-sync')
    .setAudience('wa-sync:session')
    .setIssuedAt(now() - 10)
    .setExpirationTime(exp)
    .setJti('j')
    .sign(new TextEncoder().encode(key));
}

describe('session tokens', () => {
  const tokens = () => new SessionTokens(store, SECRET);

  it('mints a token that verifies to its session, scopes and expiry', async () => {
    const minted = await tokens().mint('s1', ['stream', 'read', 'read'], 120);
    expect(minted).toEqual({ token: expect.any(String), sessionId: 's1', scopes: ['read', 'stream'], expiresAt: expect.any(String) });
    const seconds = (Date.parse(minted.expiresAt) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(100);
    expect(seconds).toBeLessThanOrEqual(120);
    const verified = await tokens().verify(minted.token);
    expect(verified).toEqual({ sessionId: 's1', scopes: ['read', 'stream'], exp: Date.parse(minted.expiresAt) / 1000, jti: expect.any(String), epoch: 0 });
    // Default: read + stream for an hour.
    const dflt = await tokens().mint('s1');
    expect(dflt.scopes).toEqual(['read', 'stream']);
    expect(Math.round((Date.parse(dflt.expiresAt) - Date.now()) / 60_000)).toBe(60);
  });

  it('refuses lifetimes outside 60 s – 24 h', async () => {
    for (const ttl of [59, 86_401, 1.5, Number.NaN]) await expect(tokens().mint('s1', ['read'], ttl)).rejects.toThrow(RangeError);
  });

  it('refuses a forged token (another key), a tampered payload, a truncated one, garbage and a huge one as unauthorized', async () => {
    const { token } = await tokens().mint('s1', ['read'], 600);
    expect(await refusal(tokens(), await craft({}, 'HS256', 'another-secret-another-secret-another'))).toBe('unauthorized');
    const [h, , sig] = token.split('.');
    expect(await refusal(tokens(), `${h}.${b64({ sub: 's2', scopes: ['read', 'stream', 'control'], epoch: 0, exp: now() + 600, iat: now(), jti: 'x', iss: 'wa-sync', aud: 'wa-sync:session' })}.${sig}`)).toBe('unauthorized');
    expect(await refusal(tokens(), token.slice(0, -5))).toBe('unauthorized');
    expect(await refusal(tokens(), token.split('.').slice(0, 2).join('.'))).toBe('unauthorized');
    for (const junk of ['garbage', '', 'a.b.c', '...', '\u0000', `${token}.${token}`]) expect(await refusal(tokens(), junk)).toBe('unauthorized');
    expect(await refusal(tokens(), `${h}.${'A'.repeat(1_000_000)}.${sig}`)).toBe('unauthorized');
  });

  it('accepts HS256 only: another HMAC algorithm and alg none are unauthorized', async () => {
    expect(await refusal(tokens(), await craft({}, 'HS512'))).toBe('unauthorized');
    expect(await refusal(tokens(), await craft({}, 'HS384'))).toBe('unauthorized');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 's1', scopes: ['read'], epoch: 0, exp: now() + 600, iat: now(), jti: 'j', iss: 'wa-sync', aud: 'wa-sync:session' })}.`;
    expect(await refusal(tokens(), none)).toBe('unauthorized');
    // The same claims signed properly pass: what failed above was the algorithm.
    await expect(tokens().verify(await craft({}))).resolves.toMatchObject({ sessionId: 's1' });
  });

  it('refuses claims it did not mint: unknown scopes, no epoch, another audience', async () => {
    expect(await refusal(tokens(), await craft({ scopes: ['admin'] }))).toBe('unauthorized');
    expect(await refusal(tokens(), await craft({ epoch: undefined }))).toBe('unauthorized');
    const foreign = await new SignJWT({ scopes: ['read'], epoch: 0 }).setProtectedHeader({ alg: 'HS256' }).setSubject('s1').setIssuer('wa-sync').setAudience('elsewhere').setIssuedAt().setExpirationTime('10m').setJti('j').sign(new TextEncoder().encode(SECRET));
    expect(await refusal(tokens(), foreign)).toBe('unauthorized');
  });

  it('an expired token is token_expired', async () => {
    expect(await refusal(tokens(), await craft({}, 'HS256', SECRET, now() - 1))).toBe('token_expired');
  });

  it('revoking a session refuses its older tokens as token_revoked, leaves other sessions alone, and new tokens work', async () => {
    const old = await tokens().mint('rev', ['read'], 600);
    const elsewhere = await tokens().mint('rev-other', ['read'], 600);
    expect((await tokens().verify(old.token)).epoch).toBe(0);
    expect(await tokens().revokeAll('rev')).toBe(1);
    expect(await tokens().currentEpoch('rev')).toBe(1);
    expect(await refusal(tokens(), old.token)).toBe('token_revoked');
    // On another process (another store handle) at once.
    expect(await refusal(new SessionTokens(other, SECRET), old.token)).toBe('token_revoked');
    await expect(tokens().verify(elsewhere.token)).resolves.toMatchObject({ sessionId: 'rev-other' });
    const fresh = await tokens().mint('rev', ['read'], 600);
    await expect(tokens().verify(fresh.token)).resolves.toMatchObject({ sessionId: 'rev', epoch: 1 });
  });

  it('without TOKEN_SECRET, generates one secret kept in the store: two processes agree, a restart keeps it', async () => {
    const [a, b] = [new SessionTokens(store), new SessionTokens(other)];
    const [fromA, fromB] = await Promise.all([a.mint('gen', ['read'], 600), b.mint('gen', ['stream'], 600)]);
    await expect(b.verify(fromA.token)).resolves.toMatchObject({ sessionId: 'gen', scopes: ['read'] });
    await expect(a.verify(fromB.token)).resolves.toMatchObject({ sessionId: 'gen', scopes: ['stream'] });
    // A restart: a new store handle and a new service.
    const reopened = await createStore(`sqlite:${join(dir, 'store.db')}`);
    try {
      await expect(new SessionTokens(reopened).verify(fromA.token)).resolves.toMatchObject({ sessionId: 'gen' });
    } finally {
      await reopened.close();
    }
    // The generated secret is not TOKEN_SECRET's: one does not verify the other's tokens.
    expect(await refusal(tokens(), fromA.token)).toBe('unauthorized');
  });
});
