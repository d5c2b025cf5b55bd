/**
 * The whatsapp-web.js engine up to where these machines allow: launch the system Chromium, try
 * to open WhatsApp Web, and fail cleanly (no network here) — a `failed` session with a readable
 * reason, no browser left running, no crash. Where WhatsApp Web is reachable the session shows
 * a QR instead. Skipped when no Chromium is installed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Keys } from '@wa-sync/shared/contracts';
import { WebjsEngine } from '../services/session-runner/src/engine/webjs.engine';
import type { SessionManager } from '../services/session-runner/src/session.manager';
import { SyncHarness } from './support/sync-harness';
import { CHROME, describeWithChromium } from './support/chromium';
import { waitFor } from './support/wait-for';

const describeWithChrome = describeWithChromium('webjs-launch.test');
const SESSION = 'webjs-launch';

let h: SyncHarness;
let engine: WebjsEngine;
let manager: SessionManager;

/** Chromium processes using this test's profile directory. */
function browsersLeft(): string[] {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(h.dir) && !line.startsWith('ps '));
}

describeWithChrome(`webjs engine on the system Chromium (${CHROME})`, () => {
  beforeAll(async () => {
    h = await SyncHarness.start({ workers: false });
    engine = new WebjsEngine(
      {
        authDir: join(h.dir, 'auth'),
        chromePath: CHROME,
        webCacheDir: join(h.dir, 'web-cache'),
        fetchTimeoutMs: 60_000,
        getChatsTimeoutMs: 600_000,
        startTimeoutMs: 90_000,
      },
      h.logger,
    );
    manager = h.manager(engine, { limitPerChat: 20, concurrency: 2, fetchPauseMs: 500 });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('launches Chromium and ends failed with a clear reason when WhatsApp Web is unreachable (or shows a QR)', async () => {
    await h.store.ensureSession(SESSION);
    await manager.start(SESSION);
    const session = await waitFor(
      'failed or qr',
      async () => {
        const s = await h.store.getSession(SESSION);
        return s?.status === 'failed' || s?.status === 'qr' ? s : null;
      },
      100_000,
    );
    if (session?.status === 'qr') {
      // WhatsApp Web is reachable from this machine: the QR is what a user scans.
      expect(await h.redis.hget(Keys.sessionLive(SESSION), 'qr')).toBeTruthy();
      await manager.stop(SESSION, { logout: false });
    } else {
      expect(session?.status).toBe('failed');
      expect(session?.statusDetail).toMatch(/^client failed to start: (cannot reach WhatsApp Web \(net::ERR_[A-Z_]+ at https:\/\/web\.whatsapp\.com\/\): check the network|WhatsApp Web did not load)/);
      expect(manager.has(SESSION)).toBe(false);
    }
    // Never linked: nothing to restore on the next boot, and no browser left behind.
    expect(await engine.hasAuth(SESSION)).toBe(false);
    // Chromium's helper processes take a moment to exit after the browser closes.
    await waitFor('no browser left', () => browsersLeft().length === 0, 10_000, () => browsersLeft().join('\n'));
  });
});
