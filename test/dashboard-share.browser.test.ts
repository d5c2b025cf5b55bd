/**
 * "Share this session": an operator copies a link from the dashboard; opened in another browser
 * context it shows that one session with a read+stream token (never the operator key), follows it
 * live, and says so once the session's tokens are revoked. The API in-process on a real socket, a
 * real Redis, the system Chromium. Needs the dashboard built (`npm run build:dashboard`).
 */
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type TestChromium, describeWithChromium, launchChromium } from './support/chromium';
import { type PrivateRedis, startRedis } from './support/redis-server';

declare const document: { querySelector(s: string): { textContent: string | null; value?: string; hidden?: boolean } | null };

const describeWithChrome = describeWithChromium('dashboard-share.browser.test');
const KEY = 'share-operator-key-9c1d';
const SESSION = 'shared-one';
const OTHER = 'not-shared';
const TIMEOUT = 90_000;
const WAIT = { timeout: 30_000 };

let redisServer: PrivateRedis;
let api: ApiFixture;
let browser: Browser;
let chromium: TestChromium;
let base: string;

describeWithChrome('dashboard: share this session', () => {
  beforeAll(async () => {
    redisServer = await startRedis();
    api = await startApi(redisServer.url, { apiKey: KEY });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    for (const id of [SESSION, OTHER]) {
      await api.store.ensureSession(id);
      await api.store.setSessionStatus(id, 'ready');
    }
    chromium = await launchChromium('share');
    browser = chromium.browser;
  }, TIMEOUT);

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of [() => chromium?.close(), () => api?.close(), () => redisServer?.stop()]) {
      await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
    }
    if (errors.length) throw errors[0];
  }, TIMEOUT);

  it('copies a link without the key that opens only that session, live, until its tokens are revoked', async () => {
    const operator = await browser.newPage();
    await operator.goto(base);
    await operator.type('[data-testid="api-key"]', KEY);
    await operator.keyboard.press('Enter');
    await operator.waitForSelector(`[data-testid="session-${SESSION}"]`, WAIT);
    await operator.click(`[data-testid="session-${SESSION}"]`);
    await operator.waitForSelector('[data-testid="share-session"]', WAIT);
    await operator.click('[data-testid="share-session"]');
    await operator.waitForFunction(() => Boolean(document.querySelector('[data-testid="share-link"]')?.value), WAIT);
    const link = await operator.$eval('[data-testid="share-link"]', (el) => (el as unknown as { value: string }).value);
    expect(link).toMatch(new RegExp(`^${base}/#token=`));
    expect(link).not.toContain(KEY);

    // Another context: no sessionStorage, no key; only the link.
    const context = await browser.createBrowserContext();
    const viewer = await context.newPage();
    const requests: string[] = [];
    viewer.on('request', (r) => requests.push(`${r.url()} ${r.headers().authorization ?? ''}`));
    await viewer.goto(link);
    await viewer.waitForSelector(`[data-testid="session-${SESSION}"]`, WAIT);
    await viewer.waitForFunction((id) => document.querySelector('.session-detail h2')?.textContent === id, WAIT, SESSION);
    await viewer.waitForFunction(() => document.querySelector('#connection')?.textContent === 'live', WAIT);
    expect(await viewer.$(`[data-testid="session-${OTHER}"]`)).toBeNull();
    expect(requests.join('\n')).not.toContain(KEY);

    // Live: a status change reaches the shared view over its socket.
    await api.deps.events.append(SESSION, 'status', { sessionId: SESSION, status: 'disconnected', detail: 'shared-view-check' });
    await viewer.waitForFunction(() => document.querySelector('.session-detail .pill')?.textContent === 'disconnected', WAIT);

    const revoked = await api.app.inject({ method: 'DELETE', url: `/whatsapp-web/session/${SESSION}/tokens`, headers: { authorization: `Bearer ${KEY}` } });
    expect(revoked.statusCode).toBe(204);
    await viewer.waitForFunction(() => /no longer works \(it was revoked\)/.test(document.querySelector('#banner')?.textContent ?? ''), WAIT);
    await context.close();
  }, TIMEOUT);
});
