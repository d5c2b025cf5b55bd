import { IsoDateTime } from '@wa-sync/shared/contracts';
import { z } from 'zod';
import { TOKEN_SCOPES, TOKEN_TTL } from '../auth/session-token.service';
import { named } from '../openapi/schema.names';

export const TokenScope = z.enum(TOKEN_SCOPES);

export const MintTokenBody = z.object({
  scopes: z
    .array(TokenScope)
    .min(1)
    .max(TOKEN_SCOPES.length)
    .optional()
    .describe('read: its GET routes but SSE; stream: WS join-session and SSE; control: start, stop, sync-chats, pairing-code. Default ["read","stream"]'),
  ttlSeconds: z.number().int().min(TOKEN_TTL.min).max(TOKEN_TTL.max).optional().describe(`Lifetime in seconds, ${TOKEN_TTL.min}–${TOKEN_TTL.max}; default ${TOKEN_TTL.default}`),
});

export const MintedToken = named('SessionToken', z.object({
  /** `Authorization: Bearer <token>` on HTTP, `?token=` on WS, SSE and media. */
  token: z.string(),
  sessionId: z.string(),
  scopes: z.array(TokenScope),
  expiresAt: IsoDateTime,
}));
