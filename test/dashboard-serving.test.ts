/**
 * How the API serves the dashboard: the page and its assets without the key (they hold no data),
 * everything else still behind it; security headers with a CSP that allows nothing inline on the
 * dashboard, and the relaxed one only on Bull Board and Swagger UI; the bundle carries no zod.
 * Needs the dashboard built (`npm run build`, which `npm test` runs first).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DASHBOARD_DIR } from '../services/api/src/web/dashboard.routes';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';

const KEY = 'serving-key-91f0';
let redisServer: PrivateRedis;
let api: ApiFixture;

beforeAll(async () => {
  redisServer = await startRedis();
  api = await startApi(redisServer.url, { apiKey: KEY });
});

afterAll(async () => {
  await api?.close();
  await redisServer?.stop();
});

const get = (url: string, key?: string) => api.app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });

function directives(csp: string | undefined): Record<string, string> {
  return Object.fromEntries((csp ?? '').split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(' ')[0], d.slice(d.indexOf(' ') + 1)]));
}

describe('the dashboard at /', () => {
  it('loads without the key, with a CSP that allows nothing inline, and every asset it names loads too', async () => {
    const page = await get('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const csp = directives(page.headers['content-security-policy'] as string);
    expect(csp).toMatchObject({ 'default-src': "'self'", 'script-src': "'self'", 'style-src': "'self'", 'connect-src': "'self'", 'img-src': "'self' data: blob:", 'object-src': "'none'" });
    expect(JSON.stringify(csp)).not.toMatch(/unsafe|upgrade-insecure-requests/);
    // No inline script or style in the page itself.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|style=/);
    expect(page.body).toContain('data-testid="api-key"');

    const assets = [...page.body.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/^\/assets\/.+\.js$/), expect.stringMatching(/^\/assets\/.+\.css$/)]));
    for (const asset of assets) {
      const res = await get(asset);
      expect({ asset, status: res.statusCode }).toEqual({ asset, status: 200 });
      if (asset.startsWith('/assets/')) expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
  });

  it('keeps everything else behind the key, unknown files included', async () => {
    expect((await get('/assets/not-there.js')).statusCode).toBe(401);
    const missing = await get('/assets/not-there.js', KEY);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect((await get('/whatsapp-web/sessions')).statusCode).toBe(401);
    expect((await get('/whatsapp-web/sessions', KEY)).statusCode).toBe(200);
  });

  it('gives Bull Board and Swagger UI their own policy: inline styles, still no inline scripts', async () => {
    for (const url of ['/admin/queues', '/docs']) {
      const res = await get(url, KEY);
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
      const csp = directives(res.headers['content-security-policy'] as string);
      expect(csp['script-src']).toBe("'self'");
      expect(csp['style-src']).toContain("'unsafe-inline'");
    }
    // An API answer carries the strict one.
    expect(directives((await get('/whatsapp-web/sessions', KEY)).headers['content-security-policy'] as string)['style-src']).toBe("'self'");
  });

  it('says how to build it when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wa-sync-no-dashboard-'));
    const bare = await startApi(redisServer.url, { apiKey: KEY, dashboardDir: empty });
    try {
      const res = await bare.app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toEqual({ code: 'dashboard_not_built', message: expect.stringContaining('npm run build') });
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('is small and carries no zod (it imports types only from packages/shared)', () => {
    const files = readdirSync(join(DASHBOARD_DIR, 'assets')).map((f) => join(DASHBOARD_DIR, 'assets', f));
    files.push(join(DASHBOARD_DIR, 'index.html'));
    let raw = 0;
    let gzip = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      raw += bytes.length;
      gzip += gzipSync(bytes, { level: 9 }).length;
      if (f.endsWith('.js')) expect(bytes.toString()).not.toMatch(/ZodError|zod/i);
    }
    process.stdout.write(`dashboard: ${files.length} files, ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzipped\n`);
  });
});
