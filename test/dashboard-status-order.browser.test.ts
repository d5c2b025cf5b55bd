/**
 * The dashboard hears a session's status twice: on the session's own stream (in log order, at
 * once) and on `watch-sessions` (each update read from the store and the leases first, so it can
 * come later). A late watch update must not take the QR off the screen. The API in-process, its
 * command connection through a proxy that stalls (as a busy Redis would stall the watch's
 * reads), a real Redis, the system Chromium. Needs the dashboard built (`npm run build`).
 */
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { Keys } from '@wa-sync/shared/contracts';
import { EventLog, type Redis, createRedis } from '@wa-sync/shared/runtime';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type TestChromium, describeWithChromium, launchChromium } from './support/chromium';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/wait-for';

declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null };

const describeWithChrome = describeWithChromium('dashboard-status-order.browser.test');
const KEY = 'order-key-3c9d';
const SESSION = 'order';
const TIMEOUT = 90_000;
const WAIT = { timeout: 30_000 };

let redisServer: PrivateRedis;
/** The runner's side: straight to Redis, not through the proxy. */
let redis: Redis;
let log: EventLog;
let proxy: TcpProxy;
let api: ApiFixture;
let browser: Browser;
let chromium: TestChromium;
let base: string;

describeWithChrome('dashboard: a session status heard on two channels', () => {
  beforeAll(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
    log = new EventLog(redis);
    proxy = await TcpProxy.open({ host: '127.0.0.1', port: Number(new URL(redisServer.url).port) });
    // A long command timeout: the stalled reads wait for the proxy instead of failing.
    api = await startApi({ commands: proxy.url(redisServer.url), bus: redisServer.url, commandTimeoutMs: 10_000 }, { apiKey: KEY });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await api.store.ensureSession(SESSION);
    await api.store.setSessionStatus(SESSION, 'stopped');
    chromium = await launchChromium('order');
    browser = chromium.browser;
  }, TIMEOUT);

  afterAll(async () => {
    const errors: unknown[] = [];
    proxy?.resume();
    for (const step of [() => chromium?.close(), () => api?.close(), () => proxy?.stop(), () => redis?.disconnect(), () => redisServer?.stop()]) {
      await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
    }
    if (errors.length) throw errors[0];
  }, TIMEOUT);

  it('keeps the QR on screen when the watch reports the status before it late', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (err) => problems.push(String(err)));
    // What the page received, frame by frame, as the browser saw it.
    const frames: Array<{ event: string; data: { sessionId?: string; status?: string } }> = [];
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketFrameReceived', ({ response }) => frames.push(JSON.parse(response.payloadData)));
    const ofSession = (event: string) => frames.filter((f) => f.event === event && (f.data.sessionId === SESSION || event === 'sessions'));

    await page.goto(base, { waitUntil: 'networkidle0' });
    await page.type('[data-testid="api-key"]', KEY);
    await page.keyboard.press('Enter');
    await (await page.waitForSelector(`[data-testid="session-${SESSION}"]`, WAIT))!.click();
    await waitFor('joined and watching', () => ofSession('joined').length === 1 && ofSession('sessions').length === 1, 30_000);

    // The watch's reads stall; the runner starts the session and shows a QR (as SessionStatusReporter does).
    proxy.pause();
    const qrDataUrl = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    await api.store.setSessionStatus(SESSION, 'starting');
    await log.append(SESSION, 'status', { sessionId: SESSION, status: 'starting', detail: null });
    await redis.hset(Keys.sessionLive(SESSION), { qr: 'code-1', qrDataUrl });
    await api.store.setSessionStatus(SESSION, 'qr');
    await log.append(SESSION, 'status', { sessionId: SESSION, status: 'qr', detail: null });
    await log.append(SESSION, 'qr', { sessionId: SESSION, qr: 'code-1', qrDataUrl });
    // The session's own stream brings the QR at once.
    await page.waitForSelector('img[alt*="QR"]', { visible: true, ...WAIT });
    expect(ofSession('session:status')).toEqual([]);

    // The watch catches up: `starting`, then `qr`, both after the QR was shown.
    proxy.resume();
    await waitFor('both watch updates', () => ofSession('session:status').length === 2, 30_000);
    expect(ofSession('session:status').map((f) => f.data.status)).toEqual(['starting', 'qr']);
    // Two animation frames: the page has applied both.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    expect(await page.$('img[alt*="QR"]')).not.toBeNull();
    expect(await page.$eval(`[data-testid="session-${SESSION}"] .pill`, (el) => el.textContent)).toBe('qr');
    expect(problems).toEqual([]);
  }, TIMEOUT);
});
