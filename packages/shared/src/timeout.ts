/**
 * Rejects with `message` when `promise` has not settled after `ms`: a probe, a scrape or a call into
 * the browser must not hang on a dead dependency. The original promise's late rejection is
 * swallowed, not left unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
