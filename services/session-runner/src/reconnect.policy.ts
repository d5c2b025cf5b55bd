/** How a session rebuilds its client after WhatsApp dropped it. */
export interface ReconnectPolicy {
  /** Delay before the first attempt (WA_RECONNECT_BASE_MS). */
  baseDelayMs: number;
  /** Delays double up to this (WA_RECONNECT_MAX_MS). */
  maxDelayMs: number;
  /** Attempts without reaching `ready` before the session is `failed` (WA_RECONNECT_ATTEMPTS). */
  maxAttempts: number;
}

export const RECONNECT_DEFAULTS: ReconnectPolicy = { baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: 10 };

/** Delay before attempt `attempt` (1-based): base, 2×base, 4×base… capped at max. */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30); // 2^30 already exceeds any sane max
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exp);
}

/**
 * Disconnect reasons that no rebuild can fix: the account is banned. Retrying a banned account
 * only draws more attention to it.
 */
const TERMINAL_REASONS = new Set(['TOS_BLOCK', 'SMB_TOS_BLOCK']);

export type DisconnectAction = 'logout' | 'give-up' | 'reconnect';

/** LOGOUT: the device was unlinked (from the phone, or by us) — the auth is worthless. */
export function onDisconnect(reason: string): DisconnectAction {
  if (reason === 'LOGOUT') return 'logout';
  if (TERMINAL_REASONS.has(reason)) return 'give-up';
  return 'reconnect';
}
