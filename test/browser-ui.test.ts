/**
 * The two browser UIs of the API, rendered by a real headless Chromium against the API on a real
 * socket with API_KEY set: Bull Board at /admin/queues and Swagger UI at /docs. `inject` only
 * proves the HTML is served; this proves the browser gets in with the key as the Basic password
 * (and not without it), that every script and stylesheet loads under that auth, and that the pages
 * show the product's queues and routes. Screenshots go to <tmpdir>/wa-sync-browser-ui/.
 * Skipped when no Chromium is installed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { JobProducer, QueueName, sessionQueueName } from '@wa-sync/shared/contracts';
import { CHROMIUM_ARGS } from '../services/session-runner/src/engine/webjs.engine';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { CHROME, describeWithChromium } from './support/chromium';

/** The page globals the functions run in the browser use (the test tsconfig has no DOM lib: the code under test is Node). */
declare const document: { body: { innerText: string }; styleSheets: Iterable<{ href: string | null; cssRules: { length: number } }> };
declare const location: { origin: string };

const describeWithChrome = describeWithChromium('browser-ui.test');

const KEY = 'browser-ui-key-4d1e';
const SESSION = 'browser-ui';
const SCREENSHOTS = join(tmpdir(), 'wa-sync-browser-ui');
const TIMEOUT = 60_000;
/** For the page to show something: well inside TIMEOUT, so a miss fails with its own message. */
const WAIT = 30_000;

let redisServer: PrivateRedis;
let api: ApiFixture;
let browser: Browser;
let profileDir: string;
let base: string;
/** The running test's pages: screenshotted and closed after it, pass or fail. */
const opened: { page: Page; context: BrowserContext; name: string }[] = [];

/** What a page loaded from the API: the kinds of assets it got, and everything that went wrong. */
interface Load {
  /** Resource types of same-origin responses (`script`, `stylesheet`, `xhr`, …). */
  assets: string[];
  /** Same-origin requests that failed or answered 4xx/5xx, and uncaught script errors. */
  problems: string[];
}

/**
 * A page in a fresh browser context (no cached credentials) that records what it loads. With
 * `password` it answers the Basic challenge with it (any user name will do).
 */
async function openPage(name: string, password?: string): Promise<{ page: Page; load: Load }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  opened.push({ page, context, name });
  const load: Load = { assets: [], problems: [] };
  const sameOrigin = (url: string) => url.startsWith(`${base}/`);
  page.on('requestfailed', (req) => {
    if (sameOrigin(req.url())) load.problems.push(`${req.url()} failed: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (!sameOrigin(res.url())) return;
    if (res.status() >= 400) load.problems.push(`${res.url()} answered ${res.status()}`);
    else load.assets.push(res.request().resourceType());
  });
  page.on('pageerror', (err) => load.problems.push(`script error: ${err}`));
  // The API's security headers scope a CSP to these UIs: nothing they need may be refused.
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) load.problems.push(`CSP: ${m.text()}`);
  });
  if (password !== undefined) await page.authenticate({ username: 'ops', password });
  return { page, load };
}

/** The text a user sees (Swagger UI puts zero-width spaces in paths so that they wrap). */
async function visibleText(page: Page): Promise<string> {
  return (await page.evaluate(() => document.body.innerText)).replace(/\u200b/g, '');
}

/** Every same-origin stylesheet of the page was parsed as CSS (not, say, a 401 JSON body). */
async function stylesheetsParsed(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    // Same-origin only: Bull Board also links a Google Fonts stylesheet, unreachable offline.
    const sheets = [...document.styleSheets].filter((s) => s.href?.startsWith(`${location.origin}/`));
    return sheets.length > 0 && sheets.every((s) => s.cssRules.length > 0);
  });
}

function expectAssetsLoaded(load: Load): void {
  expect(load.problems).toEqual([]);
  expect(load.assets).toEqual(expect.arrayContaining(['script', 'stylesheet']));
}

describeWithChrome(`browser UIs on the system Chromium (${CHROME})`, () => {
  beforeAll(async () => {
    redisServer = await startRedis();
    api = await startApi(redisServer.url, { apiKey: KEY });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    mkdirSync(SCREENSHOTS, { recursive: true });
    profileDir = mkdtempSync(join(tmpdir(), 'wa-sync-browser-ui-profile-'));
    browser = await puppeteer.launch({
      executablePath: CHROME,
      headless: true,
      userDataDir: profileDir,
      // The flags the whatsapp-web.js engine starts Chromium with on a server.
      args: CHROMIUM_ARGS,
    });
  }, TIMEOUT);

  afterEach(async () => {
    for (const { page, context, name } of opened.splice(0)) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true }).catch(() => undefined);
      await context.close().catch(() => undefined);
    }
  });

  afterAll(async () => {
    // Every step runs even if one fails: no browser, server or Redis is left behind.
    const errors: unknown[] = [];
    for (const step of [() => browser?.close(), () => api?.close(), () => redisServer?.stop()]) {
      await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
    }
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }, TIMEOUT);

  it.each(['/admin/queues', '/docs'])('%s asks a browser without the key for it (401, Basic) and refuses a wrong one', async (path) => {
    const name = path.slice(1).replace(/\//g, '-');
    const anonymous = (await openPage(`${name}-no-key`)).page;
    const challenge = anonymous.waitForResponse((res) => res.url() === `${base}${path}`);
    // Headless Chromium has no login dialog to show for the Basic challenge: it gives up the navigation.
    await expect(anonymous.goto(`${base}${path}`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    const res = await challenge;
    expect(res.status()).toBe(401);
    expect(res.headers()['www-authenticate']).toMatch(/^Basic realm="wa-sync"/);

    // A wrong key is tried once, then the challenge is cancelled (as a user would): the page shows the 401 error.
    const wrong = (await openPage(`${name}-wrong-key`, 'not-the-key')).page;
    expect((await wrong.goto(`${base}${path}`))?.status()).toBe(401);
    const text = await visibleText(wrong);
    expect(text).toContain('wrong API key');
    expect(text).not.toContain(QueueName.chatSave);
    expect(text).not.toContain('wa-sync');
  }, TIMEOUT);

  it('Bull Board renders every queue, and a session queue once it exists in Redis', async () => {
    const { page, load } = await openPage('bull-board', KEY);
    const res = await page.goto(`${base}/admin/queues`, { waitUntil: 'networkidle0' });
    expect(res?.status()).toBe(200);
    expectAssetsLoaded(load);
    const fixed = Object.values(QueueName);
    await page.waitForFunction((names: string[]) => names.every((n) => document.body.innerText.includes(n)), { timeout: WAIT }, fixed);
    expect(await page.title()).toContain('wa-sync');
    expect(await visibleText(page)).not.toContain(sessionQueueName(SESSION));

    // A session queue exists in Redis once it has a job; the board shows it on its next poll, no reload.
    await new JobProducer('session', api.deps.sessionQueues.get(SESSION)).add('sync-start', { sessionId: SESSION, syncId: 'board-test', reason: 'manual', limitPerChat: 1 });
    await page.waitForFunction((name: string) => document.body.innerText.includes(name), { timeout: WAIT }, sessionQueueName(SESSION));

    expect(load.problems).toEqual([]);
    expect(await stylesheetsParsed(page)).toBe(true);
  }, TIMEOUT);

  it('Swagger UI renders an operation for every path and method of /docs/json', async () => {
    const { page, load } = await openPage('swagger-ui', KEY);
    const specRes = page.waitForResponse((r) => r.url() === `${base}/docs/json`);
    const res = await page.goto(`${base}/docs`, { waitUntil: 'networkidle0' });
    expect(res?.status()).toBe(200);
    expectAssetsLoaded(load);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: WAIT });

    // The document Swagger UI itself fetched, against what it shows.
    const spec = (await (await specRes).json()) as { info: { title: string }; paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    const shown = await page.$$eval('.swagger-ui .opblock', (blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
        const path = block.querySelector('.opblock-summary-path')?.textContent ?? '';
        return `${method} ${path.replace(/\u200b/g, '')}`;
      }),
    );
    expect([...shown].sort()).toEqual([...documented].sort());
    expect(shown).toEqual(
      expect.arrayContaining(['GET /whatsapp-web/session/{id}/chats', 'POST /whatsapp-web/session/{id}/sync-chats', 'GET /whatsapp-web/sessions', 'GET /admin/queues']),
    );
    expect(await visibleText(page)).toContain(spec.info.title);
    expect(await page.$('.swagger-ui .errors-wrapper')).toBeNull();

    expect(load.problems).toEqual([]);
    expect(await stylesheetsParsed(page)).toBe(true);
  }, TIMEOUT);
});
