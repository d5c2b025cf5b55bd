import type { AuthStateStore } from '@wa-sync/shared/store';
import type { AuthState } from './auth-state.interface';

/** Auth blobs in the configured store (STORE_URL): one row per session, written by one upsert. */
export class StoreAuthState implements AuthState {
  readonly kind = 'store' as const;

  constructor(private readonly store: AuthStateStore) {}

  load(sessionId: string): Promise<Buffer | null> {
    return this.store.getAuthState(sessionId);
  }

  save(sessionId: string, data: Buffer): Promise<void> {
    return this.store.putAuthState(sessionId, data);
  }

  remove(sessionId: string): Promise<void> {
    return this.store.deleteAuthState(sessionId);
  }
}
