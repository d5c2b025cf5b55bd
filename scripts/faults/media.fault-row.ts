/**
 * Fault rows of the media pipeline: while a first sync's media files are downloading, the session
 * runner is killed -9, Redis restarts empty, or the blob store (S3, a real s3rver) is unreachable
 * for 30 s. Afterwards every media must end stored, expired or skipped, each stored file whole in
 * the blob store once: lost = media left pending/failed or stored without its file (plus messages
 * lost), duplicated = blobs no descriptor names or whose bytes do not hash to their key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlobStore, createBlobStore } from '@wa-sync/shared/blob';
import { auditMedia, waitMediaSettled } from '../../test/support/media-audit';
import { type PrivateS3, startS3 } from '../../test/support/s3-server';
import type { FaultStack } from './fault-stack';
import type { FaultKit, RowLike } from './fault.kit';

const QUICK = process.env.FAULTS_QUICK === '1';
const S3_DOWN_MS = QUICK ? 3_000 : 30_000;
/** Downloads take SIM_FETCH_LATENCY_MS (60 ms) each, two at a time: the sync's ~370 files take ~10 s. */
const MEDIA_ENV = { MEDIA_CONCURRENCY: '2', SIM_MEDIA_BYTES: '16384', MEDIA_SWEEP_MS: '2000' };

type Fault = (s: FaultStack, s3: PrivateS3 | null) => Promise<void>;

export function mediaFaultRows<R extends RowLike>(kit: FaultKit<R>): void {
  const row = (fault: string, useS3: boolean, inject: Fault) =>
    it(fault, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wa-sync-media-fault-'));
      const s3 = useS3 ? await startS3() : null;
      const env: Record<string, string> = { ...MEDIA_ENV, ...(s3 ? s3.env('faults') : { MEDIA_URL: `file:${join(dir, 'media')}` }) };
      const blobs = await createBlobStore(
        s3
          ? { url: env.MEDIA_URL, s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } }
          : { url: env.MEDIA_URL },
      );
      try {
        await kit.scenario(fault, (r) => trials(kit, r, blobs, s3, inject), env);
      } finally {
        await blobs.close();
        await s3?.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(kit.failed(kit.last())).toEqual([]);
    });

  row('media: session runner kill -9 during downloads', false, (s) => s.kill9AndRestart('session-runner'));
  row('media: Redis restarted empty during downloads', false, (s) => s.restartRedis(false));
  row(`media: blob store (S3) unreachable ${S3_DOWN_MS / 1000} s during downloads`, true, async (_s, s3) => {
    await s3!.stop();
    await new Promise((r) => setTimeout(r, S3_DOWN_MS));
    await s3!.start();
  });
}

async function trials<R extends RowLike>(kit: FaultKit<R>, row: R, blobs: BlobStore, s3: PrivateS3 | null, inject: Fault): Promise<void> {
  const done: string[] = [];
  for (let t = 0; t < kit.trials; t++) {
    const s = kit.stack();
    const sessionId = `media-fault-${t}`;
    await kit.createSession(s, sessionId);
    const before = await waitDownloading(s, sessionId);
    const t0 = Date.now();
    await inject(s, s3);
    const complete = (await s.waitComplete(sessionId, kit.recoveryTimeoutMs)) && (await waitMediaSettled(s.store, sessionId, kit.recoveryTimeoutMs));
    row.trials += 1;
    if (complete) row.recoveryMs.push(Date.now() - t0);
    else row.note = `${row.note} trial ${t}: not complete after ${kit.recoveryTimeoutMs / 1000} s`.trim();
    const messages = await s.audit(sessionId);
    const media = await auditMedia(s.store, sessionId, blobs, done);
    row.lost += messages.lost + media.lost;
    row.duplicated += messages.duplicated + media.duplicated;
    row.note = `${row.note} t${t}: ${before.stored} stored/${before.pending} pending at the fault, then ${media.counts.stored} stored, ${media.counts.expired} expired, ${media.counts.skipped} skipped, ${media.counts.failed} failed of ${media.total}`.trim();
    done.push(sessionId);
  }
}

/** Some files stored, many still pending: downloads are under way. */
async function waitDownloading(s: FaultStack, sessionId: string): Promise<{ stored: number; pending: number }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = await s.store.mediaCounts(sessionId);
    if (c.stored >= 10 && c.pending >= 20) return c;
    if (Date.now() > deadline) throw new Error(`${sessionId}: media downloads never got under way (${JSON.stringify(c)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
