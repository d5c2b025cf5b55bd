/**
 * A chat with media in the dashboard, in the system Chromium, against the whole system (the three
 * processes, a private Redis, the simulated phone with its files): a drawn image (fetched with
 * the key, shown from an object URL), a voice or audio player, a reply with the quoted text above
 * it, reactions and sender names. And the session list follows every session live
 * (watch-sessions): a session made by another client appears without the list being fetched again.
 * Screenshots go to a temporary directory, or DASHBOARD_SCREENSHOTS (docs/screenshots for the README).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import type { Chat, Message } from '@wa-sync/shared/contracts';
import { CHROME, type TestChromium, describeWithChromium, launchChromium } from './support/chromium';
import { type ServiceStack, startStack } from './support/service-stack';
import { waitFor } from './support/wait-for';

declare const document: {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ naturalWidth?: number; src?: string; textContent: string | null; getAttribute(n: string): string | null }>;
};

const KEY = 'conv-browser-key';
const SESSION = 'media-chat';
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ? resolve(process.env.DASHBOARD_SCREENSHOTS) : mkdtempSync(join(tmpdir(), 'wa-sync-screenshots-'));
const TIMEOUT = 240_000;
const WAIT = { timeout: 90_000 };

let stack: ServiceStack;
let browser: Browser;
let chromium: TestChromium;

async function api<T>(method: string, path: string): Promise<T> {
  const res = await fetch(`${stack.url}/whatsapp-web${path}`, { method, headers: { authorization: `Bearer ${KEY}` } });
  return (await res.json()) as T;
}

/** What a chat shows: stored images, players and replies. */
function score(messages: Message[]): { image: number; audio: number; reply: number } {
  const stored = (m: Message) => m.media?.status === 'stored';
  return {
    image: messages.filter((m) => m.type === 'image' && stored(m)).length,
    audio: messages.filter((m) => (m.type === 'ptt' || m.type === 'audio') && stored(m)).length,
    reply: messages.filter((m) => m.quoted).length,
  };
}

async function openChat(page: Page, chatId: string): Promise<void> {
  await page.$eval(`[data-testid="chat-${chatId}"]`, (el) => (el as unknown as { click(): void }).click());
  await page.waitForFunction(() => document.querySelectorAll('.messages .message').length > 0, WAIT);
  // Every page of it: older messages on demand.
  while (await page.$('.messages-pane button.link:not([hidden])')) {
    const before = await page.$$eval('.messages .message', (els) => els.length);
    await page.click('.messages-pane button.link:not([hidden])');
    await page.waitForFunction((n: number) => document.querySelectorAll('.messages .message').length > n, WAIT, before);
  }
}

describeWithChromium('conversations.browser.test')(`a chat with media in the dashboard (${CHROME})`, () => {
  beforeAll(async () => {
    stack = await startStack({
      API_KEY: KEY,
      SIM_CHATS: '8',
      SIM_MESSAGES_PER_CHAT: '60',
      SIM_AUTO_SCAN_MS: '200',
      SIM_FETCH_LATENCY_MS: '5',
      SIM_MEDIA_EXPIRED_RATE: '0.05',
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    chromium = await launchChromium('conv');
    browser = chromium.browser;
  }, TIMEOUT);

  afterAll(async () => {
    await chromium?.close().catch(() => undefined);
    await stack?.stop();
  }, TIMEOUT);

  it('lists a session made elsewhere live, then shows a drawn image, an audio player, a reply with its quote, names and reactions', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`script error: ${err}`));
    page.on('response', (res) => {
      if (res.url().startsWith(stack.url) && res.status() >= 400) problems.push(`${res.url()} answered ${res.status()}`);
    });
    let listFetches = 0;
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/whatsapp-web/sessions') listFetches++;
    });

    await page.goto(stack.url, { waitUntil: 'networkidle0' });
    await page.type('[data-testid="api-key"]', KEY);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'live', WAIT);
    await page.waitForFunction(() => document.querySelector('#sessions-empty')?.textContent !== '', WAIT);
    const fetchesBefore = listFetches;

    // Another client creates the session: the row comes through watch-sessions, not a list fetch.
    expect((await fetch(`${stack.url}/whatsapp-web/session/${SESSION}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } })).status).toBe(201);
    await page.waitForSelector(`[data-testid="session-${SESSION}"]`, WAIT);
    expect(listFetches).toBe(fetchesBefore);

    // Synced, and every file final (stored or expired).
    await waitFor('the sync and the files', async () => {
      const s = await api<{ lastSync: { done: boolean } | null }>('GET', `/session/${SESSION}`);
      const media = await api<{ pending: number; stored: number }>('GET', `/session/${SESSION}/media`);
      return Boolean(s.lastSync?.done) && media.pending === 0 && media.stored > 0;
    }, 120_000);

    const chats = (await api<{ chats: Chat[] }>('GET', `/session/${SESSION}/chats?limit=50`)).chats;
    const byChat = new Map<string, Message[]>();
    for (const c of chats) byChat.set(c.id, (await api<{ messages: Message[] }>('GET', `/session/${SESSION}/chats/${encodeURIComponent(c.id)}/messages?limit=500`)).messages);
    const ranked = [...byChat].sort((a, b) => {
      const x = score(a[1]);
      const y = score(b[1]);
      return Math.min(y.image, 1) + Math.min(y.audio, 1) + Math.min(y.reply, 1) - (Math.min(x.image, 1) + Math.min(x.audio, 1) + Math.min(x.reply, 1)) || y.image - x.image;
    });

    await page.$eval(`[data-testid="session-${SESSION}"]`, (el) => (el as unknown as { click(): void }).click());
    await page.waitForSelector(`[data-testid="chat-${ranked[0][0]}"]`, WAIT);
    const seen = { image: false, audio: false, reply: false };
    for (const [chatId, messages] of ranked) {
      const s = score(messages);
      if (!((s.image && !seen.image) || (s.audio && !seen.audio) || (s.reply && !seen.reply))) continue;
      await openChat(page, chatId);
      if (s.image) {
        // Drawn from an object URL (never copied into the page as data:): the decoded PNG has a width.
        await page.waitForFunction(() => Array.from(document.querySelectorAll('.message .media-image .media-img')).some((img) => (img.src ?? '').startsWith('blob:') && (img.naturalWidth ?? 0) > 0), WAIT);
        seen.image = true;
      }
      if (s.audio) {
        await page.waitForFunction(() => Array.from(document.querySelectorAll('.message audio')).some((a) => (a.src ?? '').startsWith('blob:')), WAIT);
        seen.audio = true;
      }
      if (s.reply) {
        const reply = messages.find((m) => m.quoted && m.quoted.body)!;
        const quote = await page.$eval(`[data-message-id="${reply.id}"] .quote-body`, (el) => el.textContent);
        expect(quote).toBe(reply.quoted!.body);
        seen.reply = true;
      }
      // Names of group members, reactions under the bubbles, as stored.
      const named = messages.find((m) => m.author && m.senderName);
      if (named) expect(await page.$eval(`[data-message-id="${named.id}"] .author`, (el) => el.textContent)).toBe(named.senderName);
      const reacted = messages.find((m) => m.reactions?.length);
      if (reacted) expect(await page.$eval(`[data-message-id="${reacted.id}"] .reactions`, (el) => el.textContent)).toContain(reacted.reactions![0].emoji);
      if (chatId === ranked[0][0]) {
        // The picture for the docs: the chat scrolled to its first drawn image.
        await page.$eval('.message .media-image', (el) => (el as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'center' }));
        await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-conversation.png') });
      }
      if (seen.image && seen.audio && seen.reply) break;
    }
    expect(seen).toEqual({ image: true, audio: true, reply: true });
    expect(problems).toEqual([]);
  }, TIMEOUT);
});
