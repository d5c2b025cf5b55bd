import { hostname } from 'node:os';
import { RunnerId } from '@wa-sync/shared/contracts';
import { BaseEnv, booleanString, loadEnv } from '@wa-sync/shared/runtime';
import { MediaStoreEnv } from '@wa-sync/shared/blob';
import { z } from 'zod';

const ms = () => z.coerce.number().int().min(1);

export const RunnerEnv = BaseEnv.extend({
  // Media files (docs/conversations.md): where they go, which are fetched, how many at once.
  ...MediaStoreEnv.shape,
  MEDIA_DOWNLOAD: z.enum(['all', 'live', 'off']).default('all'),
  /** 16 MiB: WhatsApp's own limit for photos, voice and most videos; larger downloads are known to hang whatsapp-web.js. */
  MEDIA_MAX_BYTES: z.coerce.number().int().min(1).default(16 * 1024 * 1024),
  /** Downloads at once in this runner, across its sessions: each holds one file in memory. */
  MEDIA_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** How often pending media without a job get one again (lost with Redis, say); 0: only when a session becomes ready. */
  MEDIA_SWEEP_MS: z.coerce.number().int().min(0).default(60_000),
  WA_ENGINE: z.enum(['simulated', 'webjs']).default('simulated'),
  SIM_CHATS: z.coerce.number().int().min(0).max(100_000).default(25),
  SIM_MESSAGES_PER_CHAT: z.coerce.number().int().min(0).max(100_000).default(120),
  SIM_FETCH_LATENCY_MS: z.coerce.number().int().min(0).default(20),
  SIM_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
  SIM_SEED: z.coerce.number().int().default(1),
  SIM_AUTO_SCAN_MS: z.coerce.number().int().min(0).default(1500),
  /** Live message k arrives k·N ms after the session's first ready, runner up or not (0: off). */
  SIM_LIVE_INTERVAL_MS: z.coerce.number().int().min(0).default(0),
  /** Every n-th live message is edited / deleted for everyone a little later (0: never). */
  SIM_EDIT_EVERY: z.coerce.number().int().min(0).default(0),
  SIM_REVOKE_EVERY: z.coerce.number().int().min(0).default(0),
  /** Every n-th live message gets a reaction a little later, every second one removed again (0: never). */
  SIM_REACT_EVERY: z.coerce.number().int().min(0).default(0),
  /** Simulated media files are announced (and made) around this many bytes. */
  SIM_MEDIA_BYTES: z.coerce.number().int().min(64).max(1 << 30).default(16384),
  /** Share of simulated history media files the phone no longer has (they end `expired`). */
  SIM_MEDIA_EXPIRED_RATE: z.coerce.number().min(0).max(1).default(0.05),
  /** A catch-up fetches at most this many missed messages per chat. */
  SYNC_CATCHUP_MAX_PER_CHAT: z.coerce.number().int().min(1).max(100_000).default(5000),
  /** Comma-separated chat ids whose fetch always fails (for demos of a failing chat). */
  SIM_FAIL_CHAT_IDS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),

  /** whatsapp-web.js LocalAuth data: one `session-<id>` directory (a Chromium profile) per session. */
  WA_AUTH_DIR: z.string().min(1).default('./data/auth'),
  /**
   * Where linked credentials live: `dir` (WA_AUTH_DIR, one host or a shared volume), `store` (the
   * configured store) or `blob` (the blob store, MEDIA_URL). With store/blob, whatsapp-web.js keeps
   * its profile through RemoteAuth (zipped, saved a minute after linking, then every minute), and
   * WA_AUTH_DIR is only its local working copy.
   */
  WA_AUTH_STORE: z.enum(['dir', 'store', 'blob']).default('dir'),
  CHROME_PATH: z.string().min(1).default('/usr/bin/chromium'),
  /** Pin the WhatsApp Web version (e.g. 2.3000.1017054665); unset: whatever web.whatsapp.com serves. */
  WA_WEB_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/, 'must look like 2.3000.1017054665').optional(),
  /** Where the pinned version is fetched from, `{version}` replaced; unset: WA_WEB_CACHE_DIR. */
  WA_WEB_VERSION_URL: z.url({ protocol: /^https?$/ }).refine((u) => u.includes('{version}'), 'must contain {version}').optional(),
  WA_WEB_CACHE_DIR: z.string().min(1).default('./data/web-cache'),
  WA_START_TIMEOUT_MS: ms().default(120_000),
  /** One fetchMessages call (one chat). */
  WA_FETCH_TIMEOUT_MS: ms().default(60_000),
  /** getChats, once per sync: accounts with thousands of chats take minutes. */
  WA_GET_CHATS_TIMEOUT_MS: ms().default(600_000),
  /** Fetches at once per session; default 2 for webjs, SYNC_CONCURRENCY for simulated. */
  WA_FETCH_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** Pause between the starts of two fetches of a session; default 500 for webjs, 0 for simulated. */
  WA_FETCH_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  /** Sessions started at once when the runner restores them at boot; default 2 for webjs, 8 for simulated. */
  WA_RESTORE_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** Rebuilding a disconnected client: first delay, doubling up to the max, then give up (`failed`). */
  WA_RECONNECT_BASE_MS: ms().default(1_000),
  WA_RECONNECT_MAX_MS: ms().default(60_000),
  WA_RECONNECT_ATTEMPTS: z.coerce.number().int().min(0).max(1_000).default(10),

  /** This runner's name in leases, the registry and its commands queue; unique per process. */
  RUNNER_ID: RunnerId.default(() => `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}`),
  /** A session's lease lives this long without renewal: a dead runner's sessions move after it. */
  RUNNER_LEASE_MS: z.coerce.number().int().min(300).max(600_000).default(15_000),
  /** Sessions this runner claims at most; unset: unlimited. */
  RUNNER_MAX_SESSIONS: z.coerce.number().int().min(1).optional(),
  /** Claims no more sessions while the runner and its children (Chromium) use this many MiB; unset: no limit. */
  RUNNER_MAX_RSS_MB: z.coerce.number().int().min(64).optional(),
  /** Hand sessions, one at a time, to a runner with at least two fewer (a runner that joined later). */
  RUNNER_REBALANCE: booleanString.default(false),
  /** Session-queue job lock (BullMQ renews it while the job runs): a dead runner's jobs are retried after it. */
  WA_JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(15_000),
  /** How often the session's worker looks for jobs whose runner died (BullMQ `stalledInterval`). */
  WA_STALLED_CHECK_MS: z.coerce.number().int().min(500).default(5_000),
  /** Simulated engine: keep a linked marker in WA_AUTH_DIR, so a restart or a takeover needs no QR. */
  SIM_KEEP_AUTH: booleanString.default(false),
  /** Simulated engine, for tests: record live clients per session in Redis to catch two at once. */
  SIM_TRACK_CLIENTS: booleanString.default(false),
}).transform((e) => ({
  ...e,
  WA_FETCH_CONCURRENCY: e.WA_FETCH_CONCURRENCY ?? (e.WA_ENGINE === 'webjs' ? 2 : e.SYNC_CONCURRENCY),
  WA_FETCH_PAUSE_MS: e.WA_FETCH_PAUSE_MS ?? (e.WA_ENGINE === 'webjs' ? 500 : 0),
  WA_RESTORE_CONCURRENCY: e.WA_RESTORE_CONCURRENCY ?? (e.WA_ENGINE === 'webjs' ? 2 : 8),
}));
export type RunnerEnv = z.infer<typeof RunnerEnv>;

export const env = loadEnv(RunnerEnv);
