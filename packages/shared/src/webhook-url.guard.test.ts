import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import {
  forbiddenAddressReason,
  guardedLookup,
  redactUrlCredentials,
  WebhookPolicyEnv,
  webhookUrlPolicy,
  webhookUrlRefusal,
  webhookUrlRefusalResolved,
} from './webhook-url.guard';

const strict = webhookUrlPolicy();

/** A name other than `localhost` that this machine resolves to loopback (its own hostname usually does). */
async function loopbackName(): Promise<string> {
  const own = hostname();
  const all = await lookup(own, { all: true }).catch(() => []);
  return all.length && all.every((a) => forbiddenAddressReason(a.address)) ? own : 'localhost';
}

describe('webhook URL guard', () => {
  it.each([
    ['loopback', 'http://127.0.0.1/h', /loopback/],
    ['a short IPv4 literal', 'http://127.1/h', /loopback/],
    ['a decimal IPv4 literal', 'http://2130706433/h', /loopback/],
    ['a hex IPv4 literal', 'http://0x7f000001/h', /loopback/],
    ['an octal IPv4 literal', 'http://0177.0.0.1:8080/h', /loopback/],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data', /link-local/],
    ['10/8', 'https://10.1.2.3/h', /private/],
    ['172.16/12', 'http://172.31.255.1/h', /private/],
    ['192.168/16', 'http://192.168.0.10/h', /private/],
    ['CGNAT', 'http://100.64.0.1/h', /CGNAT/],
    ['IPv6 loopback', 'http://[::1]:3000/h', /loopback/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/h', /loopback .*IPv4 inside IPv6/],
    ['IPv4-mapped metadata (hex form)', 'http://[::ffff:a9fe:a9fe]/h', /link-local/],
    ['IPv4-compatible loopback', 'http://[::127.0.0.1]/h', /loopback/],
    ['NAT64 of a private address', 'http://[64:ff9b::10.0.0.1]/h', /private/],
    ['unique-local', 'http://[fc00::]/h', /unique-local/],
    ['unique-local fd', 'http://[fd12:3456::1]/h', /unique-local/],
    ['IPv6 link-local', 'http://[fe80::1]/h', /link-local/],
    ['unspecified', 'http://0.0.0.0:80/h', /unspecified/],
    ['unspecified (short)', 'http://0/h', /unspecified/],
    ['IPv6 unspecified', 'http://[::]/h', /unspecified/],
    ['credentials', 'https://user:pw@example.com/h', /credentials/],
    ['a user alone', 'https://user@example.com/h', /credentials/],
  ])('refuses %s without DNS', (_what, url, reason) => {
    expect(webhookUrlRefusal(url, strict)).toMatch(reason);
  });

  it.each(['https://93.184.216.34/h', 'https://[2606:4700::6810:84e5]/h', 'https://example.com/h', 'http://8.8.8.8:8080/x'])('lets %s through the literal check', (url) => {
    expect(webhookUrlRefusal(url, strict)).toBeNull();
  });

  it('refuses a hostname that resolves to loopback, and allows it by name or by WEBHOOK_ALLOW_PRIVATE', async () => {
    for (const name of ['localhost', await loopbackName()]) {
      expect(await webhookUrlRefusalResolved(`http://${name}:4000/h`, strict)).toMatch(/resolves to a loopback address/);
      expect(await webhookUrlRefusalResolved(`http://${name}:4000/h`, webhookUrlPolicy({ allowedHosts: [name] }))).toBeNull();
      expect(await webhookUrlRefusalResolved(`http://${name}:4000/h`, webhookUrlPolicy({ allowPrivate: true }))).toBeNull();
    }
  });

  it('allows addresses inside a WEBHOOK_ALLOWED_HOSTS CIDR, and nothing next to it', () => {
    const policy = webhookUrlPolicy({ allowedHosts: ['172.18.0.0/16', 'receiver', 'fd00::/8'] });
    expect(webhookUrlRefusal('http://172.18.0.5/h', policy)).toBeNull();
    expect(webhookUrlRefusal('http://172.19.0.5/h', policy)).toMatch(/private/);
    expect(webhookUrlRefusal('http://[fd00::5]/h', policy)).toBeNull();
    expect(webhookUrlRefusal('http://127.0.0.1/h', policy)).toMatch(/loopback/);
    // Credentials are refused whatever the policy: they would end up in job data and logs.
    expect(webhookUrlRefusal('http://u:p@receiver/h', policy)).toMatch(/credentials/);
    expect(webhookUrlRefusal('http://u:p@10.0.0.1/h', webhookUrlPolicy({ allowPrivate: true }))).toMatch(/credentials/);
  });

  it('validates WEBHOOK_ALLOWED_HOSTS and reads WEBHOOK_ALLOW_PRIVATE as a boolean', () => {
    expect(WebhookPolicyEnv.safeParse({ WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/99' }).success).toBe(false);
    expect(WebhookPolicyEnv.safeParse({ WEBHOOK_ALLOWED_HOSTS: 'not-an-ip/8' }).success).toBe(false);
    expect(WebhookPolicyEnv.parse({ WEBHOOK_ALLOWED_HOSTS: ' receiver , 10.0.0.0/8 ', WEBHOOK_ALLOW_PRIVATE: 'false' })).toEqual({
      WEBHOOK_ALLOWED_HOSTS: ['receiver', '10.0.0.0/8'],
      WEBHOOK_ALLOW_PRIVATE: false,
    });
    expect(WebhookPolicyEnv.parse({}).WEBHOOK_ALLOW_PRIVATE).toBe(false);
  });

  it('the send-time lookup refuses to hand a socket a forbidden address, and hands it an allowed one', async () => {
    const refused = await new Promise<Error | null>((resolve) => guardedLookup(strict)('localhost', {}, (err) => resolve(err)));
    expect(refused?.message).toMatch(/^webhook_url_forbidden: the host resolves to a loopback address/);
    const allowed = await new Promise<unknown>((resolve, reject) =>
      guardedLookup(webhookUrlPolicy({ allowPrivate: true }))('localhost', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
    expect(allowed).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]));
  });

  it('takes credentials out of a URL for job data and logs', () => {
    expect(redactUrlCredentials('https://alice:s3cret@example.com/h?x=1')).toBe('https://redacted:redacted@example.com/h?x=1');
    expect(redactUrlCredentials('https://example.com/h')).toBe('https://example.com/h');
    expect(webhookUrlRefusal(redactUrlCredentials('https://alice:s3cret@example.com/h'), strict)).toMatch(/credentials/);
  });
});
