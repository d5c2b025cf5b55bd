import type { RedisOptions } from 'ioredis';
import { SteadySentinelConnector } from './sentinel.connector';

/**
 * `REDIS_URL` → ioredis options. `redis://` and `rediss://` go to ioredis as they are;
 * `redis+sentinel://[user:password@]host:port[,host:port…]/<master>[/<db>][?sentinelPassword=…]`
 * (or `rediss+sentinel://` for TLS to both the sentinels and the primary) becomes ioredis' Sentinel
 * options: every connection asks the sentinels for the current primary, and again after a failover.
 * The password in the authority is the data nodes'; the sentinels' is `sentinelPassword`.
 */
export type RedisTarget = { url: string; options?: undefined } | { url?: undefined; options: RedisOptions };

const SENTINEL = /^(rediss?)\+sentinel:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;
const DEFAULT_SENTINEL_PORT = 26379;
const QUERY_KEYS = new Set(['sentinelPassword', 'sentinelUsername', 'db', 'password', 'username']);

export function isSentinelUrl(url: string): boolean {
  return /^rediss?\+sentinel:\/\//.test(url);
}

export function parseRedisUrl(url: string): RedisTarget {
  if (!isSentinelUrl(url)) {
    if (!/^rediss?:\/\//.test(url)) throw new Error('must be a redis://, rediss:// or redis+sentinel:// URL');
    return { url };
  }
  const m = SENTINEL.exec(url);
  if (!m) throw new Error('redis+sentinel:// URL: expected redis+sentinel://[:password@]host:port[,host:port…]/<master>');
  const [, scheme, authority, path = '', query = ''] = m;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const hosts = at >= 0 ? authority.slice(at + 1) : authority;
  const sentinels = hosts.split(',').map(parseHostPort);
  if (!sentinels.length || sentinels.some((s) => !s.host)) throw new Error('redis+sentinel:// URL: at least one sentinel host:port');

  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const name = segments[0];
  if (!name) throw new Error('redis+sentinel:// URL: the master group name is missing (…/<master>)');
  if (segments.length > 2) throw new Error('redis+sentinel:// URL: expected /<master> or /<master>/<db>');

  const params = new URLSearchParams(query.slice(1));
  for (const key of params.keys()) if (!QUERY_KEYS.has(key)) throw new Error(`redis+sentinel:// URL: unknown parameter "${key}"`);
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || params.get('username') || undefined;
  const password = (colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) : '') || params.get('password') || undefined;
  const dbText = segments[1] ?? params.get('db') ?? '0';
  const db = Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`redis+sentinel:// URL: db must be a whole number, got "${dbText}"`);

  const tls = scheme === 'rediss' ? {} : undefined;
  const options: RedisOptions = {
    sentinels,
    name,
    role: 'master',
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(params.get('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername') as string } : {}),
    ...(params.get('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword') as string } : {}),
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
    // Never give up on the sentinels (ioredis stops on null): ask them again, backoff capped at 2 s.
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    // A failover the primary survives (SENTINEL FAILOVER, a network split healed): the sentinels'
    // +switch-master makes every connection move at once instead of writing ~10 s to the old primary
    // (lost when it is demoted). SteadySentinelConnector: ioredis' detector minus its race that
    // ends a connection for good when the message lands mid-reconnect.
    failoverDetector: true,
    Connector: SteadySentinelConnector,
    // Connected to a demoted primary all the same: reconnect (asking the sentinels) and resend.
    reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 2 : false),
  };
  return { options };
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`redis+sentinel:// URL: bad sentinel address "${text}"`);
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] ? Number(m[3]) : DEFAULT_SENTINEL_PORT;
  if (port < 1 || port > 65535) throw new Error(`redis+sentinel:// URL: bad port in "${text}"`);
  return { host, port };
}

/** The URL with its passwords replaced, for logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@').replace(/([?&](?:sentinelP|p)assword=)[^&#]*/g, '$1***');
}
