/**
 * The dashboard when its WebSocket is lost: it says so, reconnects by itself, and re-joins the
 * open session with `since` = the id of the last logged event it saw, so the server can replay
 * what it missed. The API in-process on a real socket (so the test can drop the sockets), a real
 * Redis, the system Chromium. Needs the dashboard built (`npm run build`).
 */
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type TestChromium, describeWithChromium, launchChromium } from './support/chromium';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null; hasAttribute(n: string): boolean } | null };

const describeWithChrome = describeWithChromium('dashboard-reconnect.browser.test');
const KEY = 'reconnect-key-5b7e';
const SESSION = 'recon';
const TIMEOUT = 90_000;
const WAIT = { timeout: 30_000 };

let redisServer: PrivateRedis;
let api: ApiFixture;
let browser: Browser;
let chromium: TestChromium;
let base: string;
/** Every frame the browser sent to the server. */
const sent: Array<{ event: string; data: { sessionId?: string; since?: string } }> = [];

describeWithChrome('dashboard: a lost WebSocket', () => {
  beforeAll(async () => {
    redisServer = await startRedis();
    api = await startApi(redisServer.url, { apiKey: KEY });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    api.app.websocketServer.on('connection', (ws: import('ws').WebSocket) => ws.on('message', (m) => sent.push(JSON.parse(m.toString()))));
    await api.store.ensureSession(SESSION);
    await api.store.setSessionStatus(SESSION, 'ready');
    chromium = await launchChromium('reconnect');
    browser = chromium.browser;
  }, TIMEOUT);

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of [() => chromium?.close(), () => api?.close(), () => redisServer?.stop()]) {
      await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
    }
    if (errors.length) throw errors[0];
  }, TIMEOUT);

  it('shows the loss, reconnects, re-joins with since = the last event id, and goes on with live events', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (err) => problems.push(String(err)));
    const statusDetail = () => page.$eval('.status-detail', (el) => el.textContent);

    await page.goto(base, { waitUntil: 'networkidle0' });
    await page.type('[data-testid="api-key"]', KEY);
    await page.keyboard.press('Enter');
    // The list loads once the key is in: wait for the row rather than racing it.
    await (await page.waitForSelector(`[data-testid="session-${SESSION}"]`, WAIT))!.click();
    await page.waitForFunction(() => document.querySelector('#connection')?.getAttribute('class')?.includes('conn-open'), WAIT);
    await waitFor('the join', () => sent.some((f) => f.event === 'join-session' && f.data.sessionId === SESSION), 10_000);

    // A logged event reaches the page with its id.
    const id = await api.deps.events.append(SESSION, 'status', { sessionId: SESSION, status: 'ready', detail: 'before the loss' });
    await waitFor('the event on the page', async () => (await statusDetail()) === 'before the loss', 10_000);

    // The server drops every socket: the page says so, then comes back by itself.
    for (const client of api.app.websocketServer.clients) client.terminate();
    await page.waitForFunction(
      () => !document.querySelector('#banner')?.hasAttribute('hidden') && /reconnecting/.test(document.querySelector('#banner')?.textContent ?? ''),
      WAIT,
    );
    await page.waitForFunction(() => document.querySelector('#connection')?.getAttribute('class')?.includes('conn-open'), WAIT);
    await page.waitForFunction(() => document.querySelector('#banner')?.hasAttribute('hidden'), WAIT);
    const rejoin = await waitFor('the re-join', () => sent.filter((f) => f.event === 'join-session' && f.data.sessionId === SESSION)[1], 10_000);
    expect(rejoin.data).toEqual({ sessionId: SESSION, since: id });

    // Live again.
    await api.deps.events.append(SESSION, 'status', { sessionId: SESSION, status: 'ready', detail: 'after the loss' });
    await waitFor('the next event on the page', async () => (await statusDetail()) === 'after the loss', 10_000);
    expect(problems).toEqual([]);
  }, TIMEOUT);
});
