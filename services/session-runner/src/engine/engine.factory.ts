import type { Store } from '@wa-sync/shared/store';
import type { Logger, Redis } from '@wa-sync/shared/runtime';
import type { RunnerEnv } from '../env';
import type { WhatsAppEngine } from './engine.interface';
import { SimulatedEngine } from './simulated.engine';
import type { BlobStore } from '@wa-sync/shared/blob';
import type { AuthState } from '../auth/auth-state.interface';
import { createAuthState } from '../auth/auth-state.factory';
import { ClientTracker, SimulatedLink, simulatedAuthFile } from './simulated.presence';

/**
 * The store keeps the simulated phone's clock anchor, so its history survives runner restarts;
 * Redis lets the simulated engine count live clients per session (tests of ownership).
 */
export function createEngine(env: RunnerEnv, logger: Logger, deps: { store?: Store; redis?: Redis; blobs?: BlobStore | null } = {}): WhatsAppEngine {
  // WA_AUTH_STORE: where linked credentials live (see auth/auth-state.interface.ts).
  const authState = (fileName?: (sessionId: string) => string): AuthState => {
    if (env.WA_AUTH_STORE !== 'dir' && !deps.store) throw new Error(`WA_AUTH_STORE=${env.WA_AUTH_STORE} needs the store`);
    return createAuthState(env.WA_AUTH_STORE, { dir: env.WA_AUTH_DIR, store: deps.store!, blobs: deps.blobs ?? null, fileName });
  };
  switch (env.WA_ENGINE) {
    case 'simulated':
      return new SimulatedEngine({
        chats: env.SIM_CHATS,
        messagesPerChat: env.SIM_MESSAGES_PER_CHAT,
        fetchLatencyMs: env.SIM_FETCH_LATENCY_MS,
        failRate: env.SIM_FAIL_RATE,
        seed: env.SIM_SEED,
        autoScanMs: env.SIM_AUTO_SCAN_MS,
        failChatIds: env.SIM_FAIL_CHAT_IDS,
        liveIntervalMs: env.SIM_LIVE_INTERVAL_MS,
        editEvery: env.SIM_EDIT_EVERY,
        revokeEvery: env.SIM_REVOKE_EVERY,
        reactEvery: env.SIM_REACT_EVERY,
        mediaBytes: env.SIM_MEDIA_BYTES,
        mediaExpiredRate: env.SIM_MEDIA_EXPIRED_RATE,
        // Kept when asked, and always outside a directory (that is what a store or blob is for).
        auth: env.SIM_KEEP_AUTH || env.WA_AUTH_STORE !== 'dir' ? new SimulatedLink(authState(simulatedAuthFile)) : null,
        tracker: env.SIM_TRACK_CLIENTS && deps.redis ? new ClientTracker(deps.redis) : null,
      }, {
        anchors: deps.store && {
          firstReady: async (sessionId, nowMs) => Date.parse(await deps.store!.markFirstReady(sessionId, new Date(nowMs).toISOString())),
        },
      });
    case 'webjs': {
      // Loaded on demand: whatsapp-web.js and puppeteer cost ~0.5 s to require, for nothing when simulated.
      const { WebjsEngine } = require('./webjs.engine') as typeof import('./webjs.engine');
      return new WebjsEngine(
        {
          authDir: env.WA_AUTH_DIR,
          remoteAuth: env.WA_AUTH_STORE === 'dir' ? undefined : authState(),
          chromePath: env.CHROME_PATH,
          webVersion: env.WA_WEB_VERSION,
          webVersionUrl: env.WA_WEB_VERSION_URL,
          webCacheDir: env.WA_WEB_CACHE_DIR,
          fetchTimeoutMs: env.WA_FETCH_TIMEOUT_MS,
          getChatsTimeoutMs: env.WA_GET_CHATS_TIMEOUT_MS,
          startTimeoutMs: env.WA_START_TIMEOUT_MS,
        },
        logger,
      );
    }
    default:
      throw new Error(`unknown WA_ENGINE ${String(env.WA_ENGINE satisfies never)}`);
  }
}
