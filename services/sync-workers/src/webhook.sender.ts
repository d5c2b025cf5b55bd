import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import type { DeliveryEvent } from '@wa-sync/shared/contracts';
import { guardedLookup, WebhookUrlForbiddenError, type WebhookUrlPolicy, webhookUrlRefusal } from '@wa-sync/shared/runtime';

/** At most this much of a receiver's answer is read; the rest is never downloaded (the socket is destroyed). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

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

export interface PostOptions {
  secret?: string;
  timeoutMs: number;
  policy: WebhookUrlPolicy;
}

/**
 * POSTs one event, signed per Standard Webhooks: `webhook-id` is the event's stable id (the same
 * on every retry, for dedup), `webhook-timestamp` the time of this try (receivers reject old
 * ones), `webhook-signature` `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. Without a secret the
 * request goes unsigned.
 *
 * node:http rather than fetch, for three reasons: its `lookup` hook checks the very address the
 * socket connects to (a name re-resolved after the check could point inside: DNS rebinding);
 * redirects are never followed (only a 2xx from the URL itself counts); and at most
 * MAX_RESPONSE_BYTES of the answer is read before the socket is destroyed, so a receiver answering
 * a huge body costs nothing (fetch's `arrayBuffer()` held it all). A URL the rule refuses throws
 * WebhookUrlForbiddenError.
 */
export function postWebhook(url: string, event: DeliveryEvent, options: PostOptions): Promise<number> {
  const refusal = webhookUrlRefusal(url, options.policy);
  if (refusal) return Promise.reject(new WebhookUrlForbiddenError(refusal));
  const body = webhookBody(event);
  const now = new Date();
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'user-agent': 'wa-sync-webhooks',
    'webhook-id': event.eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
  };
  if (options.secret) headers['webhook-signature'] = new Webhook(options.secret).sign(event.eventId, now, body);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, status?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(status!);
    };
    const req = send(target, { method: 'POST', headers, lookup: guardedLookup(options.policy) as never }, (res) => {
      readCapped(res, () => {
        const status = res.statusCode ?? 0;
        finish(status >= 200 && status <= 299 ? null : new WebhookHttpError(status), status);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error(`receiver did not answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    // Like AbortSignal.timeout: the timer alone does not keep a closing process alive (the socket does).
    timer.unref();
    req.on('error', (err) => finish(err instanceof WebhookUrlForbiddenError ? err : new Error(`cannot reach receiver: ${err.message}`)));
    req.end(body);
  });
}

/** Reads up to MAX_RESPONSE_BYTES (discarded), then calls `done`; a longer answer has its socket destroyed. */
function readCapped(res: IncomingMessage, done: () => void): void {
  let read = 0;
  let called = false;
  const once = () => {
    if (!called) {
      called = true;
      done();
    }
  };
  res.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > MAX_RESPONSE_BYTES) {
      res.destroy();
      once();
    }
  });
  res.on('end', once);
  res.on('close', once);
  res.on('error', once);
}
