import type { SessionWebhook } from '@wa-sync/shared/contracts';
import { WEBHOOK_URL_FORBIDDEN, type WebhookUrlPolicy, webhookUrlPolicy, webhookUrlRefusalResolved } from '@wa-sync/shared/runtime';
import { ApiError } from '../error.handler';

const STRICT = webhookUrlPolicy();

/**
 * The SSRF rule at create time: 400 `webhook_url_forbidden` naming the webhook and the reason
 * (never echoing the URL, which may carry credentials). Names are resolved here, and again by
 * the workers at send time.
 */
export async function assertWebhooksAllowed(webhooks: SessionWebhook[], policy: WebhookUrlPolicy = STRICT): Promise<void> {
  const reasons = await Promise.all(webhooks.map((w) => webhookUrlRefusalResolved(w.url, policy)));
  const i = reasons.findIndex(Boolean);
  if (i >= 0) throw new ApiError(400, WEBHOOK_URL_FORBIDDEN, `body.webhooks.${i}.url: ${reasons[i]}`);
}
