import pino, { type Logger } from 'pino';

export type { Logger };

/** Secrets never reach the logs, whatever object they ride in. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'API_KEY',
  '*.API_KEY',
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.token',
  'headers.authorization',
  '*.headers.authorization',
];

const SECRET_PARAM = /^(?:token|api_key|apikey|api-key|access_token|key)$/i;

/** `%74oken` → `token`, leaving malformed escapes as they are (never throws). */
function percentDecode(text: string): string {
  return text.replace(/\+/g, ' ').replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * A URL with the values of secret query parameters (`?token=`, the WebSocket's API key) replaced,
 * for request logs: loggers write `req.url` as it came. A parameter is judged by its decoded name
 * without brackets, as a query parser reads it: `?%74oken=`, `?token[]=`, `?TOKEN=` are redacted too.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const hash = url.indexOf('#', start);
  const end = hash === -1 ? url.length : hash;
  const query = url
    .slice(start + 1, end)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawName = eq === -1 ? part : part.slice(0, eq);
      const name = percentDecode(rawName).replace(/\[.*$/s, '').trim();
      return SECRET_PARAM.test(name) ? `${rawName}=[redacted]` : part;
    })
    .join('&');
  return `${url.slice(0, start + 1)}${query}${url.slice(end)}`;
}

/**
 * pino with `service` on every line. Pretty output only in a terminal (and when pino-pretty is
 * installed); JSON lines otherwise, for log shippers. `destination` (tests) gets JSON lines.
 */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { service }, redact: { paths: REDACT, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  const pretty = process.stdout.isTTY && canResolve('pino-pretty');
  return pino({
    ...options,
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } : undefined,
  });
}

function canResolve(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
