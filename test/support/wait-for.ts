/**
 * Polls `probe` until it returns something truthy; fails naming `what` after `timeoutMs`, with
 * `detail()` (e.g. a process's output) appended. A probe that throws ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 60_000,
  detail?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `:\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
