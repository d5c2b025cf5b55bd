import { Webhook } from 'standardwebhooks';
import type { DeliveryEvent } from '@wa-sync/shared/contracts';

/** Thrown for an answer that is not 2xx: the job is retried. */
export class WebhookHttpError extends Error {
  constructor(readonly status: number) {
    super(`receiver answered HTTP ${status}`);
    this.name = 'WebhookHttpError';
  }
}

/** The JSON body of every webhook request. */
export function webhookBody(event: DeliveryEvent): string {
  return JSON.stringify({ type: event.event, sessionId: event.sessionId, timestamp: event.timestamp, data: event.data });
}

/**
 * POSTs one event, signed per Standard Webhooks: `webhook-id` is the event's stable id (the same
 * on every retry, for dedup), `webhook-timestamp` the time of this try (receivers reject old
 * ones), `webhook-signature` `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. Without a secret the
 * request goes unsigned. Redirects are not followed: only a 2xx from the URL itself counts.
 */
export async function postWebhook(url: string, event: DeliveryEvent, secret: string | undefined, timeoutMs: number): Promise<number> {
  const body = webhookBody(event);
  const now = new Date();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'wa-sync-webhooks',
    'webhook-id': event.eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
  };
  if (secret) headers['webhook-signature'] = new Webhook(secret).sign(event.eventId, now, body);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError') throw new Error(`receiver did not answer within ${timeoutMs} ms`);
    throw new Error(`cannot reach receiver: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  }
  // The body is not needed; consuming it lets the connection be reused.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new WebhookHttpError(res.status);
  return res.status;
}
