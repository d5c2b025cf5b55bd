import { existsSync } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@wa-sync/shared/runtime';
import { Client, LocalAuth, RemoteAuth } from 'whatsapp-web.js';
import type { AuthState } from '../auth/auth-state.interface';
import { RemoteAuthStore } from '../auth/remote-auth.adapter';
import type * as WAWebJS from 'whatsapp-web.js';
import type { WhatsAppEngine } from './engine.interface';
import { LINKED_MARKER, type LibraryClient, WebjsClient } from './webjs.client';

export interface WebjsEngineOptions {
  /** LocalAuth data path; one `session-<id>` directory per session (WA_AUTH_DIR). */
  authDir: string;
  /**
   * WA_AUTH_STORE=store|blob: the profile goes through RemoteAuth into this auth state (zipped),
   * and `authDir` holds only the working copy of the sessions this runner runs.
   */
  remoteAuth?: AuthState;
  /** System Chromium (CHROME_PATH); puppeteer downloads none. */
  chromePath: string;
  /** Pinned WhatsApp Web version (WA_WEB_VERSION); unset: whatever web.whatsapp.com serves. */
  webVersion?: string;
  /** Archive URL with `{version}` for the pinned version (WA_WEB_VERSION_URL); unset: a local cache. */
  webVersionUrl?: string;
  /** Local cache of WhatsApp Web versions, used when pinned without a URL (WA_WEB_CACHE_DIR). */
  webCacheDir: string;
  fetchTimeoutMs: number;
  getChatsTimeoutMs: number;
  startTimeoutMs: number;
}

/** Headless Chromium on a server: no sandbox (containers run as root), no GPU, no /dev/shm, no phoning home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The whatsapp-web.js options of one session. */
export function buildClientOptions(sessionId: string, o: WebjsEngineOptions): WAWebJS.ClientOptions {
  return {
    authStrategy: o.remoteAuth
      ? // The shortest backup interval RemoteAuth accepts; it saves first a minute after linking.
        new RemoteAuth({ clientId: sessionId, dataPath: o.authDir, store: new RemoteAuthStore(o.remoteAuth, o.authDir), backupSyncIntervalMs: 60_000 })
      : new LocalAuth({ clientId: sessionId, dataPath: o.authDir }),
    puppeteer: {
      executablePath: o.chromePath,
      headless: true,
      args: CHROMIUM_ARGS,
      // CDP calls (getChats over thousands of chats) must outlive our own timeouts, not cut them short.
      protocolTimeout: Math.max(o.getChatsTimeoutMs, o.fetchTimeoutMs, o.startTimeoutMs) + 30_000,
    },
    ...webVersionOptions(o),
  };
}

function webVersionOptions(o: WebjsEngineOptions): Pick<WAWebJS.ClientOptions, 'webVersion' | 'webVersionCache'> {
  // Unpinned: no cache at all (the library's default would write ./.wwebjs_cache in the cwd).
  if (!o.webVersion) return { webVersionCache: { type: 'none' } };
  if (o.webVersionUrl) {
    // strict: a pinned version that cannot be fetched fails the start instead of silently going live.
    return { webVersion: o.webVersion, webVersionCache: { type: 'remote', remotePath: o.webVersionUrl, strict: true } };
  }
  return { webVersion: o.webVersion, webVersionCache: { type: 'local', path: o.webCacheDir, strict: false } };
}

/** whatsapp-web.js on the system Chromium, one LocalAuth directory per session. */
export class WebjsEngine implements WhatsAppEngine {
  readonly name = 'webjs' as const;
  readonly options: WebjsEngineOptions;

  constructor(
    options: WebjsEngineOptions,
    private readonly logger: Logger,
  ) {
    this.options = { ...options, authDir: resolve(options.authDir), webCacheDir: resolve(options.webCacheDir) };
  }

  /** Where LocalAuth keeps the session (a Chromium profile). */
  authPath(sessionId: string): string {
    return join(this.options.authDir, this.options.remoteAuth ? `RemoteAuth-${sessionId}` : `session-${sessionId}`);
  }

  createClient(sessionId: string): WebjsClient {
    const { options } = this;
    const createLibrary = (): LibraryClient => {
      if (!existsSync(options.chromePath)) {
        throw new Error(`Chromium not found at ${options.chromePath}: install it (apt-get install -y chromium) or set CHROME_PATH`);
      }
      return new Client(buildClientOptions(sessionId, options)) satisfies LibraryClient;
    };
    return new WebjsClient(
      sessionId,
      createLibrary,
      {
        authPath: this.authPath(sessionId),
        fetchTimeoutMs: options.fetchTimeoutMs,
        getChatsTimeoutMs: options.getChatsTimeoutMs,
        startTimeoutMs: options.startTimeoutMs,
      },
      this.logger.child({ sessionId, engine: 'webjs' }),
    );
  }

  /** Linked once: LocalAuth creates the directory at the first launch, before any QR is scanned. */
  async hasAuth(sessionId: string): Promise<boolean> {
    // Remote: linked once the first backup is saved (RemoteAuth saves it a minute after linking).
    if (this.options.remoteAuth) return (await this.options.remoteAuth.load(sessionId)) !== null;
    return access(join(this.authPath(sessionId), LINKED_MARKER)).then(
      () => true,
      () => false,
    );
  }

  async removeAuth(sessionId: string): Promise<void> {
    await this.options.remoteAuth?.remove(sessionId);
    await rm(this.authPath(sessionId), { recursive: true, force: true, maxRetries: 4 });
  }
}
