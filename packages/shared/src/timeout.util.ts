/**
 * Rejects with `message` when `promise` has not settled after `ms`: a probe, a scrape or a call into
 * the browser must not hang on a dead dependency. A late rejection of `promise` is not left
 * unhandled: the race already listens to it.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
