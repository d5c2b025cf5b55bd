import type { DownloadMediaJob, MediaDescriptor, Message } from '@wa-sync/shared/contracts';

/** MEDIA_DOWNLOAD: `all` (history and live), `live` (catch-up and live, not the first sync's history), `off`. */
export type MediaPolicy = 'all' | 'live' | 'off';

export interface MediaRule {
  policy: MediaPolicy;
  /** MEDIA_MAX_BYTES: larger files are skipped (`too_large`), without a download when the size is known. */
  maxBytes: number;
}

/** Without a media pipeline: every file is left out. */
export const MEDIA_OFF: MediaRule = { policy: 'off', maxBytes: 0 };

/** Why a file is not to be downloaded at all (it ends `skipped` with this error); null when it is. */
export function leftOutBy(media: MediaDescriptor, origin: DownloadMediaJob['origin'], { policy, maxBytes }: MediaRule): 'policy' | 'too_large' | null {
  if (policy === 'off' || (policy === 'live' && origin === 'history')) return 'policy';
  // Large files are known to hang whatsapp-web.js's download: never asked for when the size says so.
  if (media.size !== null && media.size > maxBytes) return 'too_large';
  return null;
}

/**
 * Fetched messages with the media the rule leaves out already `skipped`, so they are stored final
 * and their save adds no download job: a job per media message only to be told "skipped" took
 * ~40 % of the text sync's rate with MEDIA_DOWNLOAD=off, and logged a `message:media` for each
 * into the session's event log.
 */
export function settleLeftOutMedia(messages: Message[], origin: DownloadMediaJob['origin'], rule: MediaRule): Message[] {
  return messages.map((m) => {
    if (m.media?.status !== 'pending') return m;
    const reason = leftOutBy(m.media, origin, rule);
    return reason ? { ...m, media: { ...m.media, status: 'skipped', error: reason } } : m;
  });
}
