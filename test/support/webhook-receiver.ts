import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; sessionId: string; timestamp: string; data: any };
  /** The status this receiver answered. */
  status: number;
  /** Whether `Webhook.verify` (standardwebhooks) accepted it with the receiver's secret. */
  verified: boolean;
  receivedAt: number;
}

/**
 * An HTTP server that records every webhook request and verifies its signature as a receiver
 * would (standardwebhooks `Webhook.verify`). `respond` picks each answer (default 204).
 */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  respond: (req: { path: string; attempt: number; webhookId: string }) => number = () => 204;
  private readonly attempts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly secrets: Record<string, string>,
  ) {}

  /** `secrets`: path → the secret its requests must be signed with. */
  static async start(secrets: Record<string, string>): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const path = req.url ?? '/';
        const webhookId = String(req.headers['webhook-id'] ?? '');
        const key = `${path} ${webhookId}`;
        const attempt = (receiver.attempts.get(key) ?? 0) + 1;
        receiver.attempts.set(key, attempt);
        let verified = false;
        const secret = receiver.secrets[path];
        if (secret) {
          try {
            new Webhook(secret).verify(body, req.headers as Record<string, string>);
            verified = true;
          } catch {
            verified = false;
          }
        }
        const status = receiver.respond({ path, attempt, webhookId });
        receiver.requests.push({ path, headers: req.headers, body, json: JSON.parse(body), status, verified, receivedAt: Date.now() });
        res.statusCode = status;
        res.end();
      });
    });
    receiver = new WebhookReceiver(server, secrets);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Requests answered 2xx, i.e. delivered. */
  delivered(path?: string): ReceivedWebhook[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300 && (path === undefined || r.path === path));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
