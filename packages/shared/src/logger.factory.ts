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

/**
 * A URL with the values of secret query parameters (`?token=`, the WebSocket's API key) replaced,
 * for request logs: loggers write `req.url` as it came.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|api_key|apikey|access_token)=)[^&#]*/gi, '$1[redacted]');
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
