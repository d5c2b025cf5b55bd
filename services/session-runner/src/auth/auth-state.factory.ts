import type { BlobStore } from '@wa-sync/shared/blob';
import type { Store } from '@wa-sync/shared/store';
import type { AuthState, AuthStoreKind } from './auth-state.interface';
import { BlobAuthState } from './blob.auth-state';
import { DirAuthState } from './dir.auth-state';
import { StoreAuthState } from './store.auth-state';

/** WA_AUTH_STORE → where linked credentials live; `fileName` keeps each engine's file names in `dir`. */
export function createAuthState(
  kind: AuthStoreKind,
  deps: { dir: string; store: Store; blobs: BlobStore | null; fileName?: (sessionId: string) => string },
): AuthState {
  switch (kind) {
    case 'dir':
      return new DirAuthState(deps.dir, deps.fileName);
    case 'store':
      return new StoreAuthState(deps.store);
    case 'blob':
      if (!deps.blobs) throw new Error('WA_AUTH_STORE=blob needs the blob store (MEDIA_URL; it is not opened while MEDIA_DOWNLOAD=off)');
      return new BlobAuthState(deps.blobs, deps.store);
    default:
      throw new Error(`unknown WA_AUTH_STORE ${String(kind satisfies never)}`);
  }
}
