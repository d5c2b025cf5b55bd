/**
 * The dashboard in the system Chromium against the whole system (`npm start`'s three processes,
 * a private Redis, the simulated phone), with API_KEY set: type the key, create a session, see
 * the QR, watch the progress bar fill, see every chat, open one and page its messages, see a
 * live message appear — with no console error, no failed request and no CSP violation. Then the
 * same flow on a 390 px wide phone, with no horizontal scroll at any step. Screenshots go to a
 * temporary directory (or DASHBOARD_SCREENSHOTS). Needs a build (`npm run build`, which `npm test` runs first).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import type { Chat } from '@wa-sync/shared/contracts';
import { CHROME, type TestChromium, describeWithChromium, launchChromium } from './support/chromium';
import { type ServiceStack, startStack } from './support/service-stack';
import { WsClient } from './support/ws-client';
import { waitFor } from './support/wait-for';

/** Page globals used by the functions that run in the browser (the test tsconfig has no DOM lib). */
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelector(s: string): { getAttribute(n: string): string | null; textContent: string | null } | null;
  querySelectorAll(s: string): { length: number };
  addEventListener(type: string, fn: (e: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare const window: { __csp: string[] };

const describeWithChrome = describeWithChromium('dashboard.browser.test');

const KEY = 'dashboard-key-7c2a';
const CHATS = 6;
const MESSAGES_PER_CHAT = 40;
/** The dashboard's message page size. */
const PAGE = 30;
/**
 * Where the screenshots go: a temporary directory, so a test run leaves the checkout clean;
 * `DASHBOARD_SCREENSHOTS=docs/screenshots npm test` refreshes the README's pictures.
 */
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS
  ? resolve(process.env.DASHBOARD_SCREENSHOTS)
  : mkdtempSync(join(tmpdir(), 'wa-sync-screenshots-'));
const TIMEOUT = 180_000;
const WAIT = { timeout: 60_000 };

let stack: ServiceStack;
let browser: Browser;
let chromium: TestChromium;
let watcher: WsClient;

/** Everything that went wrong in a page: console errors, script errors, failed or refused requests, CSP violations. */
async function watch(page: Page, base: string): Promise<() => Promise<string[]>> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`script error: ${err}`));
  page.on('requestfailed', (req) => problems.push(`${req.url()} failed: ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.url().startsWith(base) && res.status() >= 400) problems.push(`${res.url()} answered ${res.status()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return async () => [...problems, ...(await page.evaluate(() => window.__csp).catch(() => [])).map((v) => `CSP violation: ${v}`)];
}

async function noHorizontalScroll(page: Page, step: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect({ step, scrollWidth: Math.min(scrollWidth, clientWidth), clientWidth }).toEqual({ step, scrollWidth, clientWidth });
}

async function storedChats(sessionId: string): Promise<Chat[]> {
  const res = await fetch(`${stack.url}/whatsapp-web/session/${sessionId}/chats?limit=500`, { headers: { authorization: `Bearer ${KEY}` } });
  return ((await res.json()) as { chats: Chat[] }).chats;
}

const liveIn = (sessionId: string, chatId?: string) =>
  watcher.of('message:new').filter((m) => m.sessionId === sessionId && (!chatId || m.chatId === chatId));

/** The user's flow, step by step; on a phone, every step is checked for horizontal scroll. */
async function flow(page: Page, sessionId: string, shots: { qr: string; done: string }, phone: boolean): Promise<void> {
  const t0 = Date.now();
  const timings: string[] = [];
  const step = async (name: string) => {
    timings.push(`${name} ${Date.now() - t0} ms`);
    if (phone) await noHorizontalScroll(page, name);
  };
  watcher.send('join-session', { sessionId });

  const res = await page.goto(stack.url, { waitUntil: 'networkidle0' });
  expect(res?.status()).toBe(200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  await step('key form');

  // The key: typed, Enter; kept for the tab only.
  await page.type('[data-testid="api-key"]', KEY);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#connection')?.getAttribute('class')?.includes('conn-open'), WAIT);

  await page.type('#new-session', sessionId);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-testid="session-${sessionId}"]`, WAIT);
  const qr = await page.waitForSelector('img[alt*="QR"]', { visible: true, ...WAIT });
  expect(await qr!.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
  await step('QR');
  await page.screenshot({ path: join(SCREENSHOTS, shots.qr) });

  // The simulated phone scans; the sync runs: the bar ends full, with every chat counted.
  await page.waitForFunction(
    () => {
      const bar = document.querySelector('[role="progressbar"]');
      const max = Number(bar?.getAttribute('aria-valuemax'));
      return max > 0 && bar?.getAttribute('aria-valuenow') === bar?.getAttribute('aria-valuemax');
    },
    WAIT,
  );
  const bar = await page.$eval('[role="progressbar"]', (el) => [el.getAttribute('aria-valuenow'), el.getAttribute('aria-valuemax')]);
  expect(bar).toEqual([String(CHATS), String(CHATS)]);
  expect(await page.$eval('.progress-text', (el) => el.textContent)).toMatch(/done .*0 failed/);
  await step('progress');

  // Every stored chat, by name.
  const chats = await storedChats(sessionId);
  expect(chats).toHaveLength(CHATS);
  await page.waitForFunction((n: number) => document.querySelectorAll('[data-testid^="chat-"]').length === n, WAIT, CHATS);
  for (const chat of chats) {
    expect(await page.$eval(`[data-testid="chat-${chat.id}"]`, (el) => el.textContent)).toContain(chat.name);
  }

  // A chat that gets live messages: the busiest of the first eight.
  await waitFor('eight live messages', () => liveIn(sessionId).length >= 8, 60_000);
  const tally = new Map<string, number>();
  for (const m of liveIn(sessionId)) tally.set(m.chatId, (tally.get(m.chatId) ?? 0) + 1);
  const chatId = [...tally].sort((a, b) => b[1] - a[1])[0][0];
  // A DOM click on that very row: live messages reorder the list, a click at coordinates could hit another chat.
  await page.$eval(`[data-testid="chat-${chatId}"]`, (el) => (el as unknown as { click(): void }).click());
  const name = chats.find((c) => c.id === chatId)?.name;
  await page.waitForFunction((n: string) => document.querySelector('.messages-pane h3')?.textContent === n, WAIT, name || chatId);
  await page.waitForFunction((n: number) => document.querySelectorAll('.messages .message').length >= n, WAIT, PAGE);
  // One page (live ones may already be appended), not the whole history.
  expect(await page.$$eval('.messages .message', (els) => els.length)).toBeLessThan(MESSAGES_PER_CHAT);
  // Paged: older messages come on demand.
  await page.click('.messages-pane button.link');
  await page.waitForFunction((n: number) => document.querySelectorAll('.messages .message').length >= n, WAIT, MESSAGES_PER_CHAT);
  await step('messages');

  // The next live message of that chat appears without a reload.
  const seen = liveIn(sessionId, chatId).length;
  await watcher.waitFor('message:new', (m) => m.sessionId === sessionId && m.chatId === chatId && liveIn(sessionId, chatId).indexOf(m) >= seen, 60_000);
  const live = liveIn(sessionId, chatId)[seen];
  const item = await page.waitForSelector(`.messages [data-message-id="${live.id}"]`, WAIT);
  expect(await item!.evaluate((el) => el.textContent)).toContain(live.body);
  await step('live message');
  await page.screenshot({ path: join(SCREENSHOTS, shots.done), fullPage: phone });
  process.stdout.write(`dashboard flow (${phone ? 'phone' : 'desktop'}): ${timings.join(', ')}\n`);
}

describeWithChrome(`dashboard on the system Chromium (${CHROME})`, () => {
  beforeAll(async () => {
    stack = await startStack({
      API_KEY: KEY,
      SIM_CHATS: String(CHATS),
      SIM_MESSAGES_PER_CHAT: String(MESSAGES_PER_CHAT),
      // The QR stays up long enough to be seen (a loaded CI machine may take seconds to draw the
      // page); the sync takes long enough to be watched.
      SIM_AUTO_SCAN_MS: '6000',
      SIM_FETCH_LATENCY_MS: '150',
      SIM_LIVE_INTERVAL_MS: '250',
    });
    watcher = await WsClient.connect(`${stack.wsUrl}?token=${KEY}`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    chromium = await launchChromium('dashboard');
    browser = chromium.browser;
  }, TIMEOUT);

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of [() => watcher?.close(), () => chromium?.close(), () => stack?.stop()]) {
      await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
    }
    if (errors.length) throw errors[0];
  }, TIMEOUT);

  it('on a desktop: key, session, QR, full progress bar, every chat, paged messages, a live one; no error, no CSP violation', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    const problems = await watch(page, stack.url);
    try {
      await flow(page, 'desk', { qr: 'dashboard-qr.png', done: 'dashboard-desktop.png' }, false);
      expect(await problems()).toEqual([]);
    } finally {
      await context.close();
    }
  }, TIMEOUT);

  it('on a 390 px phone: the same flow, never a horizontal scroll', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const problems = await watch(page, stack.url);
    try {
      await flow(page, 'phone', { qr: 'dashboard-phone-qr.png', done: 'dashboard-phone.png' }, true);
      expect(await problems()).toEqual([]);
    } finally {
      await context.close();
    }
  }, TIMEOUT);
});
