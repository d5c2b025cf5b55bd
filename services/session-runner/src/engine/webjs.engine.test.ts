import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@wa-sync/shared/runtime';
import { LINKED_MARKER } from './webjs.client';
import { CHROMIUM_ARGS, WebjsEngine, type WebjsEngineOptions, buildClientOptions } from './webjs.engine';

let dir: string;
let options: WebjsEngineOptions;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-webjs-engine-'));
  options = {
    authDir: join(dir, 'auth'),
    chromePath: '/usr/bin/chromium',
    webCacheDir: join(dir, 'web-cache'),
    fetchTimeoutMs: 60_000,
    getChatsTimeoutMs: 600_000,
    startTimeoutMs: 120_000,
  };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('buildClientOptions', () => {
  it('uses LocalAuth per session, the system Chromium, headless with server flags', () => {
    const o = buildClientOptions('alice', options);
    expect(o.authStrategy).toMatchObject({ clientId: 'alice', dataPath: join(dir, 'auth') });
    expect(o.puppeteer).toMatchObject({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    expect(CHROMIUM_ARGS).toEqual(expect.arrayContaining(['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run']));
    // CDP must not cut getChats short before our own timeout does.
    expect(o.puppeteer?.protocolTimeout).toBeGreaterThan(600_000);
  });

  it('loads the live WhatsApp Web unless a version is pinned, then from the archive URL or the local cache', () => {
    expect(buildClientOptions('a', options)).toMatchObject({ webVersionCache: { type: 'none' } });
    expect(buildClientOptions('a', options).webVersion).toBeUndefined();
    const url = 'https://example.test/html/{version}.html';
    expect(buildClientOptions('a', { ...options, webVersion: '2.3000.1', webVersionUrl: url })).toMatchObject({
      webVersion: '2.3000.1',
      webVersionCache: { type: 'remote', remotePath: url, strict: true },
    });
    expect(buildClientOptions('a', { ...options, webVersion: '2.3000.1' })).toMatchObject({
      webVersion: '2.3000.1',
      webVersionCache: { type: 'local', path: join(dir, 'web-cache') },
    });
  });
});

describe('WebjsEngine auth', () => {
  it('has auth once the session was linked, and removeAuth forgets it', async () => {
    const engine = new WebjsEngine(options, createLogger('test', 'silent'));
    const path = engine.authPath('alice');
    expect(path).toBe(join(dir, 'auth', 'session-alice'));
    expect(await engine.hasAuth('alice')).toBe(false);
    // LocalAuth creates the directory at launch, before any scan: not yet auth.
    mkdirSync(path, { recursive: true });
    expect(await engine.hasAuth('alice')).toBe(false);
    writeFileSync(join(path, LINKED_MARKER), 'x');
    expect(await engine.hasAuth('alice')).toBe(true);
    await engine.removeAuth('alice');
    expect(existsSync(path)).toBe(false);
    expect(await engine.hasAuth('alice')).toBe(false);
    await engine.removeAuth('alice'); // nothing left: still fine
  });

  it('a client fails to start with a clear reason when Chromium is missing', async () => {
    const engine = new WebjsEngine({ ...options, chromePath: join(dir, 'no-chromium') }, createLogger('test', 'silent'));
    await expect(engine.createClient('alice').start()).rejects.toThrow(/Chromium not found at .*no-chromium: install it \(apt-get install -y chromium\) or set CHROME_PATH/);
  });
});
