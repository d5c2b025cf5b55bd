import type { FastifyRequest } from 'fastify';
import type { TokenScope } from './session-token.service';

/**
 * What a route lets in (its `config.access`; DESIGN "Access for end users"):
 * - `public`: anyone (health probes, the dashboard's files);
 * - `operator`: an operator key only (session list, runners, metrics, docs, Bull Board, tokens…);
 * - `read` / `stream` / `control`: an operator key, or a token of that route's session (`:id`) with that scope;
 * - `socket`: an operator key or any valid token (the WebSocket; `join-session` checks `stream`).
 */
export type Access = 'public' | 'operator' | 'read' | 'stream' | 'control' | 'socket';
export const ACCESS_LEVELS: readonly Access[] = ['public', 'operator', 'read', 'stream', 'control', 'socket'];

export type { TokenScope };

/** Who is asking: an operator (by key name; `open` when auth is off) or a session token. */
export type Principal =
  | { kind: 'operator'; name: string; /** Short hash of the key (rate-limit bucket). */ keyId?: string }
  | {
      kind: 'token';
      sessionId: string;
      scopes: readonly TokenScope[];
      /** Expiry, epoch seconds. */
      exp: number;
      /** The session's revocation epoch the token was minted under. */
      epoch: number;
    };

/** Every request when no operator key is configured. */
export const OPEN: Principal = { kind: 'operator', name: 'open' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: every route declares it (the app refuses to boot otherwise). */
    access?: Access;
    /** Browsers cannot set headers on a WebSocket, an EventSource or an `<img>`: the credential may come as `?token=`. */
    queryToken?: boolean;
    /** For a token: this request needs the operator after all (a webhooks body, `logout`, a new session). Runs once the body is parsed. */
    operatorWhen?: (req: FastifyRequest) => boolean | Promise<boolean>;
  }
  interface FastifyRequest {
    /** Set by the access hook before anything else runs. */
    principal: Principal;
  }
}

/** The rule, in one place: may `principal` call a route of `access` for session `sessionId`? */
export function allows(principal: Principal, access: Access, sessionId: string | undefined): boolean {
  if (access === 'public' || principal.kind === 'operator') return true;
  if (access === 'socket') return true;
  if (access === 'operator') return false;
  return sessionId === principal.sessionId && principal.scopes.includes(access);
}

/** Operator-only socket frames (e.g. following every session) check this. */
export function isOperator(principal: Principal): boolean {
  return principal.kind === 'operator';
}

/** May this socket's principal follow `sessionId` (WS `join-session`)? */
export function mayStream(principal: Principal, sessionId: string): boolean {
  return allows(principal, 'stream', sessionId);
}
