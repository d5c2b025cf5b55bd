import { SEALED_PREFIX, WebhookSecretCipher, WebhookSecretUnreadableError } from './webhook-secret.cipher';
import { StoredSessionWebhooks } from './webhook.schemas';

const KEY = 'k'.repeat(40);
const SECRET = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

describe('webhook secret cipher', () => {
  const cipher = new WebhookSecretCipher(KEY);

  it('seals a secret so that the stored value does not contain it, and opens it back', () => {
    const sealed = cipher.seal(SECRET);
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    expect(sealed).not.toContain('whsec_');
    expect(sealed).not.toContain(SECRET.slice(6, 20));
    expect(cipher.open(sealed)).toBe(SECRET);
    // A fresh IV each time: equal secrets do not give equal stored values.
    expect(cipher.seal(SECRET)).not.toBe(sealed);
    // Another process with the same key opens it.
    expect(new WebhookSecretCipher(KEY).open(sealed)).toBe(SECRET);
    // What the stores read back accepts it.
    expect(StoredSessionWebhooks.safeParse([{ url: 'https://example.com/h', secret: sealed }]).success).toBe(true);
  });

  it('opens plain secrets stored before sealing as they are', () => {
    expect(cipher.open(SECRET)).toBe(SECRET);
    expect(new WebhookSecretCipher(undefined).open(SECRET)).toBe(SECRET);
  });

  it('without a key stores secrets as they are', () => {
    const none = new WebhookSecretCipher(undefined);
    expect(none.sealing).toBe(false);
    expect(none.sealAll([{ url: 'https://example.com/h', secret: SECRET }, { url: 'https://example.com/b' }])).toEqual([
      { url: 'https://example.com/h', secret: SECRET },
      { url: 'https://example.com/b' },
    ]);
  });

  it('refuses to open with no key, another key, or a damaged value', () => {
    const sealed = cipher.seal(SECRET);
    expect(() => new WebhookSecretCipher(undefined).open(sealed)).toThrow(WebhookSecretUnreadableError);
    expect(() => new WebhookSecretCipher('x'.repeat(40)).open(sealed)).toThrow(/not the key it was sealed with/);
    const body = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    body[15] ^= 1;
    expect(() => cipher.open(SEALED_PREFIX + body.toString('base64url'))).toThrow(WebhookSecretUnreadableError);
    expect(() => cipher.open(`${SEALED_PREFIX}AAAA`)).toThrow(/damaged/);
  });
});
