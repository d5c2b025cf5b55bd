import type { BlobStore } from '@wa-sync/shared/blob';
import type { AuthStateStore } from '@wa-sync/shared/store';
import type { AuthState } from './auth-state.interface';

/** The first line of every auth blob: no two sessions share one (the blob store keys blobs by content). */
const header = (sessionId: string) => Buffer.from(`wa-sync-auth:${sessionId}\n`);

interface Pointer {
  blob: string;
}

/**
 * Auth blobs in the blob store (MEDIA_URL: a directory or S3), for profiles too big for a database
 * row. The blob store is content-addressed, so the store keeps a small pointer per session, written
 * by one upsert once the blob is whole; the previous blob is deleted after the pointer moved.
 */
export class BlobAuthState implements AuthState {
  readonly kind = 'blob' as const;

  constructor(
    private readonly blobs: BlobStore,
    private readonly pointers: AuthStateStore,
  ) {}

  private async pointer(sessionId: string): Promise<Pointer | null> {
    const raw = await this.pointers.getAuthState(sessionId);
    return raw ? (JSON.parse(raw.toString('utf8')) as Pointer) : null;
  }

  async load(sessionId: string): Promise<Buffer | null> {
    const p = await this.pointer(sessionId);
    if (!p) return null;
    const stream = await this.blobs.getStream(p.blob).catch(() => null);
    if (!stream) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    const all = Buffer.concat(chunks);
    const head = header(sessionId);
    // Another session's blob, or a damaged one: not this session's credentials.
    return all.subarray(0, head.length).equals(head) ? all.subarray(head.length) : null;
  }

  async save(sessionId: string, data: Buffer): Promise<void> {
    const before = await this.pointer(sessionId);
    const { sha256 } = await this.blobs.put(Buffer.concat([header(sessionId), data]));
    await this.pointers.putAuthState(sessionId, Buffer.from(JSON.stringify({ blob: sha256 } satisfies Pointer)));
    if (before && before.blob !== sha256) await this.blobs.delete(before.blob);
  }

  async remove(sessionId: string): Promise<void> {
    const before = await this.pointer(sessionId);
    await this.pointers.deleteAuthState(sessionId);
    if (before) await this.blobs.delete(before.blob);
  }
}

