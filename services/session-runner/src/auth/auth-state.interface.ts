/**
 * Where a linked session's WhatsApp credentials live (WA_AUTH_STORE): a directory on this host or a
 * shared volume (`dir`), the configured store (`store`), or the blob store (`blob`). One opaque blob
 * per session (a zipped Chromium profile for whatsapp-web.js' RemoteAuth, a marker for the simulated
 * phone). Saves are atomic (a reader sees the old blob or the new one, never half); the bytes are
 * secrets and are never logged.
 */
export interface AuthState {
  readonly kind: 'dir' | 'store' | 'blob';
  /** Null when the session was never linked (or was logged out). */
  load(sessionId: string): Promise<Buffer | null>;
  save(sessionId: string, data: Buffer): Promise<void>;
  /** No-op when absent. */
  remove(sessionId: string): Promise<void>;
}

export type AuthStoreKind = AuthState['kind'];
