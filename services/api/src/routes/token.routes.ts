import type { ApiPlugin } from '../app.types';
import { DEFAULT_TOKEN_SCOPES, TOKEN_TTL } from '../auth/session-token.service';
import { routeSchema } from '../openapi/openapi.registry';
import { SessionParams } from './common.schemas';
import { MintedToken, MintTokenBody } from './token.schemas';

const tags = ['access'];

/**
 * Session tokens for a session's end user (DESIGN "Access for end users"): minting and revoking
 * are the operator's (the key), never a token's. In the session scope: the session must exist.
 */
export const tokenRoutes: ApiPlugin = async (app) => {
  const { deps } = app;

  app.post(
    '/whatsapp-web/session/:id/tokens',
    {
      config: { access: 'operator' },
      schema: routeSchema({
        tags,
        operationId: 'mintSessionToken',
        summary: 'Mint a token for this session only, with scopes and a lifetime',
        description:
          'Operator only. The token works as `Authorization: Bearer` on HTTP and as `?token=` on WS, SSE and the media route, for this session only, until it expires or the session\'s tokens are revoked.',
        params: SessionParams,
        body: MintTokenBody,
        responses: { 201: { description: 'The token', schema: MintedToken } },
        errors: [400, 403, 404, 503],
      }),
    },
    async (req, reply) => {
      const { scopes = DEFAULT_TOKEN_SCOPES, ttlSeconds = TOKEN_TTL.default } = req.body;
      const minted = await deps.tokens.mint(req.params.id, scopes, ttlSeconds);
      req.log.info({ scopes: minted.scopes, expiresAt: minted.expiresAt }, 'session token minted');
      return reply.status(201).send(minted);
    },
  );

  app.delete(
    '/whatsapp-web/session/:id/tokens',
    {
      config: { access: 'operator' },
      schema: routeSchema({
        tags,
        operationId: 'revokeSessionTokens',
        summary: 'Revoke every token of this session',
        description:
          'Operator only. Every token minted for the session so far is refused from now on, on every API process (401 `token_revoked`); its open WebSocket and SSE streams are closed within 5 s. Tokens minted afterwards work.',
        params: SessionParams,
        responses: { 204: { description: 'Revoked', empty: true } },
        errors: [400, 403, 404, 503],
      }),
    },
    async (req, reply) => {
      await deps.tokens.revokeAll(req.params.id);
      req.log.info('session tokens revoked');
      return reply.status(204).send();
    },
  );
};
