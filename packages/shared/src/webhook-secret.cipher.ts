import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SessionWebhook } from './webhook.schemas';

/** How a sealed secret starts in the store; anything else is a secret stored before sealing (plain text). */
export const SEALED_PREFIX = 'wsenc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** WEBHOOK_SECRET_KEY, for the env of the API (seals) and the sync workers (open). */
export const WebhookSecretKeyEnv = z.object({
  /**
   * Encrypts session webhook secrets at rest (AES-256-GCM, the key derived with HKDF-SHA256).
   * Unset: they are stored in plain text, as before. Same value on every API and sync-workers process.
   */
  WEBHOOK_SECRET_KEY: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
});

/** A secret the workers cannot open: no key, another key, or a damaged value. Retrying cannot help. */
export class WebhookSecretUnreadableError extends Error {
  constructor(reason: string) {
    super(`the webhook's stored secret cannot be decrypted: ${reason}`);
    this.name = 'WebhookSecretUnreadableError';
  }
}

/**
 * Seals session webhook secrets before the store sees them and opens them where they are used
 * (the webhook sender), with AES-256-GCM from node:crypto: a random 96-bit IV per value, the tag
 * checked on open. Secrets stored before (plain `whsec_…`) still open as they are. Without a key
 * nothing is sealed.
 */
export class WebhookSecretCipher {
  private readonly key: Buffer | null;

  constructor(secretKey: string | undefined) {
    this.key = secretKey ? Buffer.from(hkdfSync('sha256', secretKey, 'wa-sync', 'webhook-secret-v1', 32)) : null;
  }

  get sealing(): boolean {
    return this.key !== null;
  }

  seal(secret: string): string {
    if (!this.key || secret.startsWith(SEALED_PREFIX)) return secret;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  open(stored: string): string {
    if (!stored.startsWith(SEALED_PREFIX)) return stored;
    if (!this.key) throw new WebhookSecretUnreadableError('WEBHOOK_SECRET_KEY is not set on this process');
    const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new WebhookSecretUnreadableError('the stored value is damaged');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookSecretUnreadableError('WEBHOOK_SECRET_KEY is not the key it was sealed with, or the value is damaged');
    }
  }

  /** The webhooks as the store should keep them. */
  sealAll(webhooks: SessionWebhook[]): SessionWebhook[] {
    return webhooks.map((w) => (w.secret ? { ...w, secret: this.seal(w.secret) } : w));
  }
}
