import { randomBytes, randomUUID } from 'node:crypto';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { z } from 'zod';
import type { Store } from '@wa-sync/shared/store';

/** What a session token may do (DESIGN "Access for end users"): read its GET routes, stream it, control it. */
export const TOKEN_SCOPES = ['read', 'stream', 'control'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** A token's lifetime bounds and default, in seconds. */
export const TOKEN_TTL = { min: 60, max: 86_400, default: 3_600 } as const;
export const DEFAULT_TOKEN_SCOPES: TokenScope[] = ['read', 'stream'];

/** Longer than any token we mint (≈ 300 bytes): anything bigger is refused unread. */
const MAX_TOKEN_LENGTH = 2_048;
/** The store name of the generated secret, when TOKEN_SECRET is unset. */
const SECRET_NAME = 'session-token-secret';
const ISSUER = 'wa-sync';
const AUDIENCE = 'wa-sync:session';

export interface MintedToken {
  token: string;
  sessionId: string;
  scopes: TokenScope[];
  /** ISO-8601. */
  expiresAt: string;
}

export interface VerifiedToken {
  sessionId: string;
  scopes: TokenScope[];
  /** Expiry, epoch seconds. */
  exp: number;
  jti: string;
  /** The session's revocation epoch it was minted under: it is revoked once `currentEpoch` is higher. */
  epoch: number;
}

export type TokenErrorCode = 'unauthorized' | 'token_expired' | 'token_revoked';

/** A token refused: the 401's `code` and a message that never repeats the token. */
export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

// jose is ESM-only and this package compiles to CommonJS: Node 20 loads it with require(esm).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errors: joseErrors, jwtVerify, SignJWT } = require('jose') as typeof Jose;

const Claims = z.object({
  sub: z.string().min(1).max(200),
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).max(TOKEN_SCOPES.length),
  epoch: z.number().int().min(0),
  exp: z.number().int(),
  jti: z.string().min(1).max(100),
});

/**
 * Session tokens: HS256 JWTs (jose) with `sub` = session id, `scopes`, `exp`, `iat`, `jti` and
 * `epoch`, the session's revocation epoch when minted. The key is TOKEN_SECRET, or a secret
 * generated once and kept in the store (atomic create-if-absent, so every API process agrees):
 * tokens outlive restarts, Redis loss and failover, and work on every process. Revoking a session's
 * tokens raises its epoch in the store; a token minted under an older epoch is refused.
 * The epoch is read from the store on every verify, so a revocation holds at once everywhere.
 */
export class SessionTokens {
  private key: Promise<Uint8Array> | null = null;

  constructor(
    private readonly store: Store,
    /** TOKEN_SECRET; absent: generated once and kept in the store. */
    private readonly secret?: string,
  ) {}

  /** Mints a token for one session (the caller checked the session exists and the operator asked). */
  async mint(sessionId: string, scopes: TokenScope[] = DEFAULT_TOKEN_SCOPES, ttlSeconds: number = TOKEN_TTL.default): Promise<MintedToken> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < TOKEN_TTL.min || ttlSeconds > TOKEN_TTL.max) {
      throw new RangeError(`ttlSeconds must be an integer from ${TOKEN_TTL.min} to ${TOKEN_TTL.max}`);
    }
    const unique = [...new Set(scopes)].sort((a, b) => TOKEN_SCOPES.indexOf(a) - TOKEN_SCOPES.indexOf(b));
    const [key, epoch] = await Promise.all([this.signingKey(), this.store.getTokenEpoch(sessionId)]);
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ scopes: unique, epoch })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sessionId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
    return { token, sessionId, scopes: unique, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * The token's session and scopes, or a TokenError: `token_expired`, `token_revoked` (minted
   * before the session's last revocation), `unauthorized` for anything else (forged, truncated,
   * another algorithm, `alg: none`, garbage, too long). Store errors are thrown as they are (503).
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenError('unauthorized', 'the token is not a valid session token');
    }
    const key = await this.signingKey();
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['exp', 'iat', 'jti', 'sub'] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('token_expired', 'the token has expired');
      throw new TokenError('unauthorized', 'the token is not a valid session token');
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) throw new TokenError('unauthorized', 'the token is not a valid session token');
    const { sub, scopes, epoch, exp, jti } = claims.data;
    if ((await this.store.getTokenEpoch(sub)) > epoch) throw new TokenError('token_revoked', 'the token was revoked');
    return { sessionId: sub, scopes, exp, jti, epoch };
  }

  /**
   * The session's revocation epoch now: a stream opened with a token whose `epoch` is lower must
   * close (one store read per session, however many streams it has).
   */
  currentEpoch(sessionId: string): Promise<number> {
    return this.store.getTokenEpoch(sessionId);
  }

  /** Revokes every token of the session minted so far; resolves to its new epoch. */
  revokeAll(sessionId: string): Promise<number> {
    return this.store.bumpTokenEpoch(sessionId);
  }

  /** The HMAC key; a store that cannot be reached now is asked again on the next call. */
  private signingKey(): Promise<Uint8Array> {
    this.key ??= (async () => {
      if (this.secret) return new TextEncoder().encode(this.secret);
      const kept = await this.store.ensureSecret(SECRET_NAME, randomBytes(32).toString('base64url'));
      return Buffer.from(kept, 'base64url');
    })();
    this.key.catch(() => (this.key = null));
    return this.key;
  }
}
