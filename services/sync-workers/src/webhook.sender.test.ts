/**
 * The sender against real local HTTP servers: redirects, huge answers, the SSRF rule at send time.
 * Receivers are on 127.0.0.1, so the tests that deliver use WEBHOOK_ALLOW_PRIVATE (allowPrivate).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryEvent } from '@wa-sync/shared/contracts';
import { webhookUrlPolicy } from '@wa-sync/shared/runtime';
import { MAX_RESPONSE_BYTES, postWebhook, WebhookHttpError } from './webhook.sender';

const event: DeliveryEvent = { eventId: 's.1-0', sessionId: 's', event: 'session_ready', timestamp: new Date(0).toISOString(), data: { ok: true } } as DeliveryEvent;
const open = webhookUrlPolicy({ allowPrivate: true });
const strict = webhookUrlPolicy();

interface Local {
  server: Server;
  hits: string[];
  url(path: string): string;
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Local> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    hits,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('webhook sender', () => {
  let local: Local;
  afterEach(async () => local?.close());

  it('delivers with a 2xx and signs the request', async () => {
    let signature: string | undefined;
    local = await serve((req, res) => {
      signature = req.headers['webhook-signature'] as string;
      res.writeHead(204).end();
    });
    await expect(postWebhook(local.url('/ok'), event, { secret: `whsec_${Buffer.alloc(24, 7).toString('base64')}`, timeoutMs: 5_000, policy: open })).resolves.toBe(204);
    expect(signature).toMatch(/^v1,/);
  });

  it('does not follow a 302: the target is never asked and the try counts as failed', async () => {
    local = await serve((req, res) => {
      if (req.url === '/redirect') res.writeHead(302, { location: local.url('/target') }).end();
      else res.writeHead(200).end();
    });
    const sent = postWebhook(local.url('/redirect'), event, { timeoutMs: 5_000, policy: open });
    await expect(sent).rejects.toBeInstanceOf(WebhookHttpError);
    await expect(sent).rejects.toThrow('receiver answered HTTP 302');
    expect(local.hits).toEqual(['/redirect']);
  });

  it('reads at most 64 KiB of an endless 500 answer, then drops the connection', async () => {
    let sent = 0;
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    local = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/octet-stream' }); // chunked, no length
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (!res.destroyed && sent < 1.5 * 1024 ** 3) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', closed);
      pump();
    });
    await expect(postWebhook(local.url('/huge'), event, { timeoutMs: 10_000, policy: open })).rejects.toThrow('receiver answered HTTP 500');
    await gone;
    // What the server got written before the client hung up: socket buffers, far from 1.5 GB.
    expect(MAX_RESPONSE_BYTES).toBe(64 * 1024);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    local = await serve(() => undefined);
    await expect(postWebhook(local.url('/slow'), event, { timeoutMs: 300, policy: open })).rejects.toThrow('receiver did not answer within 300 ms');
  });

  it.each([
    ['an IP literal', (l: Local) => l.url('/x')],
    ['a name resolving to loopback', (l: Local) => l.url('/x').replace('127.0.0.1', 'localhost')],
    ['credentials', (l: Local) => l.url('/x').replace('http://', 'http://u:p@')],
  ])('refuses %s at send time without the strict rule relaxed, sending nothing', async (_what, urlOf) => {
    local = await serve((_req, res) => res.writeHead(204).end());
    await expect(postWebhook(urlOf(local), event, { timeoutMs: 5_000, policy: strict })).rejects.toThrow(/^webhook_url_forbidden: /);
    expect(local.hits).toEqual([]);
  });

  it('a name allowed by WEBHOOK_ALLOWED_HOSTS is delivered to', async () => {
    local = await serve((_req, res) => res.writeHead(204).end());
    await expect(postWebhook(local.url('/x').replace('127.0.0.1', 'localhost'), event, { timeoutMs: 5_000, policy: webhookUrlPolicy({ allowedHosts: ['localhost'] }) })).resolves.toBe(204);
  });
});
