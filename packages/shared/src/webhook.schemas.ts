import { z } from 'zod';
import { SESSION_EVENT_NAMES, type SessionEventName } from './session-event.schemas';

/** A Standard Webhooks secret: `whsec_` and base64 of the key (at least 16 bytes). */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, 'must be a Standard Webhooks secret: whsec_ followed by base64 (16+ bytes)');

/** Only http(s): a webhook URL is fetched by the workers, anything else is refused up front. */
export const WebhookUrl = z
  .string()
  .max(2048)
  .refine((raw) => {
    try {
      const url = new URL(raw);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

/** A session event name, as config and request bodies name them. */
export const EventNameSchema = z.enum(SESSION_EVENT_NAMES as [SessionEventName, ...SessionEventName[]], {
  error: () => `must be one of ${SESSION_EVENT_NAMES.join(', ')}`,
});

/** A webhook of one session (`webhooks` in the session create body), kept by the store. */
export const SessionWebhook = z.object({
  url: WebhookUrl,
  /** Events sent to it; absent: the workers' WEBHOOK_EVENTS (default `session_ready`). */
  events: z.array(EventNameSchema).min(1).max(SESSION_EVENT_NAMES.length).optional(),
  /** Signs its requests; absent: WEBHOOK_SECRET (unsigned when neither is set). */
  secret: WebhookSecret.optional(),
});
export type SessionWebhook = z.infer<typeof SessionWebhook>;

export const SessionWebhooks = z.array(SessionWebhook).max(10);

/** A secret as the store keeps it: sealed (`wsenc:v1:…`, WEBHOOK_SECRET_KEY) or, stored before or without a key, plain. */
const StoredWebhookSecret = z.union([WebhookSecret, z.string().regex(/^wsenc:v1:[A-Za-z0-9_-]+$/)]);

/** Session webhooks as the stores read them back (their secrets may be sealed). */
export const StoredSessionWebhooks = z.array(SessionWebhook.extend({ secret: StoredWebhookSecret.optional() })).max(10);

/** The stable id of a logged event, for downstream dedup: `<sessionId>.<log id>` (`.` is not in session ids). */
export function deliveryEventId(sessionId: string, logId: string): string {
  return `${sessionId}.${logId}`;
}

/** When an event was logged: the millisecond part of its log id. */
export function logIdTime(logId: string): string {
  return new Date(Number(logId.split('-')[0])).toISOString();
}

/** Comma-separated list of an env variable; empty items dropped. */
export function commaList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
