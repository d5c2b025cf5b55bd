/** Deterministic garbage: HTTP requests, WebSocket frames, Redis payloads and tokens a hostile client could send. */
import { createHmac } from 'node:crypto';
import { mulberry32 } from '../../services/session-runner/src/engine/simulated.account';

/** The simulated account's PRNG: the same seed gives the same garbage on every run. */
export const prng = mulberry32;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

const NASTY = [
  '', ' ', '%', '%zz', '%00', '%E0%A4%A', '..', '../..', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  'null', 'undefined', 'NaN', '-1', '0', '1e309', '😀', 'é'.repeat(300), 'a'.repeat(70), 'x'.repeat(5000), '<script>',
  "' OR 1=1 --", '${jndi:x}', '\u202e', 'demo', 'fuzz-1', '5511999@c.us', `${'9'.repeat(256)}@g.us`, '%2F%2F',
];

const PATHS = [
  '/whatsapp-web/session/{s}',
  '/whatsapp-web/sessions',
  '/whatsapp-web/session/{s}/chats',
  '/whatsapp-web/session/{s}/chats/{s}/messages',
  '/whatsapp-web/session/{s}/sync-chats',
  '/whatsapp-web/session/{s}/sync',
  '/whatsapp-web/session/{s}/qr',
  '/whatsapp-web/session/{s}/messages/recent',
  '/whatsapp-web/session/{s}/events',
  '/whatsapp-web/session/{s}/tokens',
  '/ws',
  '/healthz',
  '/readyz',
  '/metrics',
  '/docs/json',
  '/{s}',
  '/{s}/{s}/{s}',
];

const QUERIES = ['limit', 'cursor', 'before', 'logout', 'days', 'since', 'token', '__proto__', 'limit[]', 'deviceType'];

function nasty(r: () => number): string {
  const s = pick(r, NASTY);
  return r() < 0.5 ? encodeURIComponent(s) : s.replace(/[/?#\s]/g, '');
}

function randomJson(r: () => number, depth = 0): unknown {
  const k = r();
  if (depth > 3 || k < 0.2) return pick(r, [null, true, false, 0, -1, 1e308, 'x', '', NASTY[Math.floor(r() * NASTY.length)]]);
  if (k < 0.5) return Array.from({ length: Math.floor(r() * 5) }, () => randomJson(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(r() * 4); i++) o[pick(r, ['limitPerChat', 'chatIds', 'phoneNumber', 'webhooks', 'scopes', 'ttlSeconds', '__proto__', 'constructor', 'x'])] = randomJson(r, depth + 1);
  return o;
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * A session token an attacker would try: garbage, huge, truncated, `alg: none`, another algorithm,
 * HS256 signed with a key of its own, claims of every shape. None is valid.
 */
export function fuzzToken(r: () => number): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = pick(r, [
    { sub: 'fuzz-1', scopes: ['read', 'stream', 'control'], epoch: 0, exp: now + 3600, iat: now, jti: 'j', iss: 'wa-sync', aud: 'wa-sync:session' },
    { sub: 'fuzz-1', scopes: ['admin'], epoch: -1, exp: 1e308 },
    { sub: { $ne: null }, scopes: '__proto__', exp: 'never' },
    randomJson(r),
  ]);
  const alg = pick(r, ['none', 'None', 'NONE', 'HS256', 'HS512', 'RS256', 'ES256', 'PS256', '', null]);
  const head = b64({ alg, typ: 'JWT' });
  const body = b64(claims ?? null);
  const kind = r();
  if (kind < 0.15) return nasty(r);
  if (kind < 0.25) return `${head}.${body}.${'A'.repeat(1 + Math.floor(r() * 12_000))}`;
  if (kind < 0.4) return `${head}.${body}.`; // alg none style: no signature
  if (kind < 0.5) return `${head}.${body}`.slice(0, Math.floor(r() * 60)); // truncated
  const key = Buffer.from(Array.from({ length: 32 }, () => Math.floor(r() * 256)));
  return `${head}.${body}.${createHmac(pick(r, ['sha256', 'sha512']), key).update(`${head}.${body}`).digest('base64url')}`;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export function fuzzRequest(r: () => number): FuzzRequest {
  const method = pick(r, ['GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD']);
  let path = pick(r, PATHS).replace(/\{s\}/g, () => (r() < 0.4 ? 'fuzz-1' : nasty(r)));
  if (r() < 0.5) {
    const n = 1 + Math.floor(r() * 3);
    path += `?${Array.from({ length: n }, () => `${pick(r, QUERIES)}=${nasty(r)}`).join('&')}`;
  }
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || r() < 0.1) {
    const kind = r();
    if (kind < 0.5) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(randomJson(r));
    } else if (kind < 0.7) {
      headers['content-type'] = 'application/json';
      body = pick(r, ['{', '{"a":', '[1,2', 'nul', '"\\u00"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']);
    } else if (kind < 0.85) {
      headers['content-type'] = pick(r, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/xml']);
      body = nasty(r);
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ chatIds: Array.from({ length: 2000 }, (_, i) => `c${i}`), limitPerChat: 5 });
    }
  }
  // Tokens the way a browser (`?token=`) or a client (Bearer) sends them.
  const t = r();
  if (t < 0.15) headers.authorization = `Bearer ${fuzzToken(r)}`;
  else if (t < 0.25) path += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(fuzzToken(r))}`;
  if (r() < 0.1) headers.accept = pick(r, ['image/png', 'text/event-stream', '*/*', 'application/xml']);
  return { method, path, headers, body };
}

/** A frame: text, JSON of every shape, event names that are Object.prototype members, binary. */
export function fuzzFrame(r: () => number): string | Buffer {
  const k = r();
  if (k < 0.1) return Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
  if (k < 0.25) return nasty(r);
  const event = pick(r, ['join-session', 'leave-session', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '', 'x', 'join-session ', 'JOIN-SESSION']);
  const data = r() < 0.5 ? { sessionId: r() < 0.5 ? 'fuzz-1' : nasty(r), since: pick(r, [undefined, '0', '0-0', '$', 'x', '-1', 5]) } : randomJson(r);
  return JSON.stringify(r() < 0.9 ? { event, data } : randomJson(r));
}

/** Payloads for the product's Redis channel and streams: none of them is a valid event. */
export function garbagePayloads(r: () => number, n: number): string[] {
  const fixed = ['', 'not json', '{', 'null', '[]', '{}', '{"event":"sync_chats"}', '{"event":"__proto__","data":{}}', '{"v":99}', 'x'.repeat(100_000)];
  return [...fixed, ...Array.from({ length: Math.max(0, n - fixed.length) }, () => JSON.stringify(randomJson(r)))];
}
