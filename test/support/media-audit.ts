import { createHash } from 'node:crypto';
import type { Message } from '@wa-sync/shared/contracts';
import type { BlobStore } from '@wa-sync/shared/blob';
import type { MediaCounts, Store } from '@wa-sync/shared/store';

export interface MediaAudit {
  /** Media messages of the session. */
  total: number;
  counts: MediaCounts;
  /** Media left pending or failed, or stored without its whole file in the blob store. */
  lost: number;
  /** Blobs no stored descriptor names (a file kept twice under two keys would show here), and blobs whose bytes do not hash to their key. */
  duplicated: number;
}

async function allMessages(store: Store, sessionId: string): Promise<Message[]> {
  const out: Message[] = [];
  let cursor: string | undefined;
  do {
    const chats = await store.listChats(sessionId, { limit: 500, ...(cursor ? { cursor } : {}) });
    for (const chat of chats.items) {
      let before: string | undefined;
      do {
        const page = await store.listMessages(sessionId, chat.id, { limit: 500, ...(before ? { before } : {}) });
        out.push(...page.items);
        before = page.nextCursor ?? undefined;
      } while (before);
    }
    cursor = chats.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/**
 * Checks every media of the session against the blob store, every blob against its key. Sessions
 * in `sharing` use the same blob store: their stored files are not strays.
 */
export async function auditMedia(store: Store, sessionId: string, blobs: BlobStore, sharing: string[] = []): Promise<MediaAudit> {
  const media = (await allMessages(store, sessionId)).filter((m) => m.hasMedia && m.media);
  const named = new Set<string>();
  for (const other of sharing) {
    for (const m of await allMessages(store, other)) if (m.media?.status === 'stored' && m.media.sha256) named.add(m.media.sha256);
  }
  let lost = 0;
  for (const m of media) {
    const d = m.media!;
    if (d.status === 'pending' || d.status === 'failed') lost += 1;
    if (d.status !== 'stored') continue;
    const stat = d.sha256 ? await blobs.stat(d.sha256) : null;
    if (!stat || stat.size !== d.size) lost += 1;
    else named.add(d.sha256!);
  }
  let duplicated = 0;
  for await (const blob of blobs.list()) {
    const hash = createHash('sha256');
    for await (const chunk of await blobs.getStream(blob.sha256)) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== blob.sha256 || !named.has(blob.sha256)) duplicated += 1;
  }
  return { total: media.length, counts: await store.mediaCounts(sessionId), lost, duplicated };
}

/** Until no media of the session is pending (or the timeout): false on timeout. */
export async function waitMediaSettled(store: Store, sessionId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await store.mediaCounts(sessionId).catch(() => null);
    if (counts && counts.pending === 0 && counts.stored + counts.expired + counts.skipped + counts.failed > 0) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
