import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../error.handler';
import { type Access, ACCESS_LEVELS, allows, OPEN, type Principal, type TokenScope } from './access.policy';
import type { OperatorKeys } from './operator-key.registry';

/** What the hook needs of the session tokens (auth/session-token.service). */
export interface TokenVerifier {
  verify(token: string): Promise<{ sessionId: string; scopes: readonly string[]; exp: number; epoch: number }>;
}

export interface AccessOptions {
  keys: OperatorKeys;
  tokens?: TokenVerifier;
  /** Third-party UIs (Bull Board, Swagger UI): HTTP Basic with the key as the password is accepted there. */
  uiPrefixes: string[];
  /** The access of routes that plugins register (static files, UIs); undefined: the route must declare one. */
  defaultAccess: (url: string) => Access | undefined;
}

const TOKEN_ERRORS = new Set(['unauthorized', 'token_expired', 'token_revoked']);

function isUi(req: FastifyRequest, uiPrefixes: string[]): boolean {
  const path = req.url.split('?')[0];
  return uiPrefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

/** The credential a request carries: `Authorization: Bearer`, Basic (password) on the UIs, or `?token=` where the route takes it. */
function credentialOf(req: FastifyRequest, uiPrefixes: string[]): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const [scheme, value] = header.split(/\s+/, 2);
    if (/^bearer$/i.test(scheme) && value) return value;
    if (/^basic$/i.test(scheme) && value && isUi(req, uiPrefixes)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon !== -1) return decoded.slice(colon + 1);
    }
  }
  if (req.routeOptions.config?.queryToken) {
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string' && token) return token;
  }
  return null;
}

/**
 * A 401 closes the connection once answered (`Connection: close`): an unauthenticated client does
 * not keep a socket (and a file descriptor) for the keep-alive timeout.
 */
function refuse(req: FastifyRequest, reply: FastifyReply, uiPrefixes: string[], code: string, message: string): FastifyReply {
  reply.header('connection', 'close');
  // Basic makes a browser ask for the key on the UIs; API clients only get the Bearer challenge.
  reply.header('www-authenticate', isUi(req, uiPrefixes) ? 'Basic realm="wa-sync", charset="UTF-8"' : 'Bearer realm="wa-sync"');
  return sendError(reply, 401, code, message);
}

function forbid(reply: FastifyReply, principal: Principal): FastifyReply {
  const who = principal.kind === 'token' ? `a token for session ${principal.sessionId} (${principal.scopes.join(', ')})` : 'this key';
  return sendError(reply, 403, 'forbidden', `${who} cannot use this route`);
}

/**
 * Access control in one place. Every route declares `config.access` (a route that does not fails
 * the boot, so a new route cannot forget it); `onRequest` finds who is asking (an operator key by
 * name, a session token, or nobody) and applies the route's rule before anything else runs (a
 * WebSocket without it is refused before the upgrade; a token for another session gets 403
 * before the session scope could answer 404); `preValidation` applies the rules that depend on the
 * body (`operatorWhen`). With no operator key configured, everything is open, as before.
 */
export function installAccess(app: FastifyInstance, options: AccessOptions): void {
  const { keys, tokens, uiPrefixes } = options;
  app.decorateRequest('principal', null as never);

  app.addHook('onRoute', (route) => {
    const declared = route.config?.access ?? options.defaultAccess(route.url);
    if (!declared || !ACCESS_LEVELS.includes(declared)) {
      throw new Error(`${[route.method].flat().join(',')} ${route.url} declares no access: set config.access (${ACCESS_LEVELS.join(' | ')})`);
    }
    route.config = { ...(route.config ?? {}), access: declared } as typeof route.config;
  });

  app.addHook('onRequest', async (req, reply) => {
    // Routes registered before this hook (a CORS preflight) and unknown paths: operator only.
    const access: Access = req.routeOptions.config?.access ?? 'operator';
    if (!keys.enabled) {
      req.principal = OPEN;
      return;
    }
    const given = credentialOf(req, uiPrefixes);
    if (given === null) {
      if (access === 'public') return;
      const how = req.routeOptions.config?.queryToken ? ' or ?token=<key or token>' : '';
      return refuse(req, reply, uiPrefixes, 'unauthorized', `missing API key: send "Authorization: Bearer <key or token>"${how}`);
    }
    const principal = await authenticate(given, keys, tokens);
    if (typeof principal === 'string' || principal.kind === 'refused') {
      if (access === 'public') return;
      if (typeof principal === 'string') return refuse(req, reply, uiPrefixes, 'unauthorized', 'wrong API key or session token');
      return refuse(req, reply, uiPrefixes, principal.code, principal.message);
    }
    req.principal = principal;
    // The key's name (never the key) or the token's session on every log line of the request.
    const bindings = principal.kind === 'operator' ? { operator: principal.name } : { tokenSession: principal.sessionId, tokenScopes: principal.scopes };
    req.log = req.log.child(bindings);
    reply.log = req.log;
    if (!allows(principal, access, (req.params as { id?: string } | undefined)?.id)) return forbid(reply, principal);
  });

  app.addHook('preValidation', async (req, reply) => {
    const when = req.routeOptions.config?.operatorWhen;
    if (when && req.principal?.kind === 'token' && (await when(req))) return forbid(reply, req.principal);
  });
}

type Authenticated = Principal | 'wrong' | { kind: 'refused'; code: string; message: string };

async function authenticate(given: string, keys: OperatorKeys, tokens: TokenVerifier | undefined): Promise<Authenticated> {
  const key = keys.match(given);
  if (key !== null) return { kind: 'operator', name: key.name, keyId: key.id };
  if (!tokens) return 'wrong';
  try {
    const token = await tokens.verify(given);
    return { kind: 'token', sessionId: token.sessionId, scopes: token.scopes as TokenScope[], exp: token.exp, epoch: token.epoch };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if ((err as Error).name === 'TokenError' && typeof code === 'string' && TOKEN_ERRORS.has(code)) {
      return code === 'unauthorized' ? 'wrong' : { kind: 'refused', code, message: (err as Error).message };
    }
    throw err;
  }
}

/** The rate-limit bucket of a request: who it is (an operator key's name, a token's session), else its IP. */
export function clientKey(req: FastifyRequest): string {
  const p = req.principal;
  if (p?.kind === 'operator' && p.keyId) return `key:${p.keyId}`;
  if (p?.kind === 'token') return `session:${p.sessionId}`;
  return `ip:${req.ip}`;
}
