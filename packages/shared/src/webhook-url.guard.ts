import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { booleanString } from './env';

/**
 * The SSRF rule for webhook URLs (DESIGN "webhook safety"): the API checks it at create time, the
 * sync workers at boot (WEBHOOK_URL) and again at send time, on the address they connect to (DNS
 * rebinding). A URL is refused when it carries credentials, or when its host is or resolves to a
 * loopback, private, link-local, unique-local, shared (CGNAT), unspecified, multicast or reserved
 * address, IPv4-mapped/compatible/NAT64/6to4 IPv6 forms of those included, unless the host is in
 * WEBHOOK_ALLOWED_HOSTS (names or CIDRs) or WEBHOOK_ALLOW_PRIVATE is on. IPv4 literals in decimal,
 * hex, octal or short form (`2130706433`, `0x7f000001`, `127.1`) reach us already normalized by the
 * WHATWG URL parser, which is the parser the sender uses too.
 */
export interface WebhookUrlPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: any address (development, tests with local receivers). */
  allowPrivate: boolean;
  /** WEBHOOK_ALLOWED_HOSTS names, lowercase, without a trailing dot. */
  allowedNames: string[];
  /** WEBHOOK_ALLOWED_HOSTS CIDRs (and single addresses). */
  allowedAddresses: BlockList;
}

/** The error code the API answers and the reason a delivery fails with. */
export const WEBHOOK_URL_FORBIDDEN = 'webhook_url_forbidden';

export class WebhookUrlForbiddenError extends Error {
  readonly code = WEBHOOK_URL_FORBIDDEN;
  constructor(reason: string) {
    super(`${WEBHOOK_URL_FORBIDDEN}: ${reason}`);
    this.name = 'WebhookUrlForbiddenError';
  }
}

const RANGES: { name: string; v4?: string[]; v6?: string[] }[] = [
  { name: 'unspecified', v4: ['0.0.0.0/8'], v6: ['::/128'] },
  { name: 'loopback', v4: ['127.0.0.0/8'], v6: ['::1/128'] },
  { name: 'private', v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  { name: 'link-local (cloud metadata)', v4: ['169.254.0.0/16'], v6: ['fe80::/10'] },
  { name: 'unique-local', v6: ['fc00::/7'] },
  { name: 'shared (CGNAT)', v4: ['100.64.0.0/10'] },
  { name: 'IETF protocol assignments', v4: ['192.0.0.0/24'] },
  { name: 'multicast or reserved', v4: ['224.0.0.0/3'], v6: ['ff00::/8'] },
];
const BLOCKS = RANGES.map(({ name, v4 = [], v6 = [] }) => {
  const list = new BlockList();
  for (const cidr of v4) list.addSubnet(cidr.split('/')[0], Number(cidr.split('/')[1]), 'ipv4');
  for (const cidr of v6) list.addSubnet(cidr.split('/')[0], Number(cidr.split('/')[1]), 'ipv6');
  return { name, list };
});

/** The 8 groups of an IPv6 address (as `net.isIP` accepts it, embedded IPv4 tail included). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIpv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4(g[6], g[7]); // ::ffff:a.b.c.d
  if (zeros(0, 6) && (g[6] !== 0 || g[7] > 1)) return v4(g[6], g[7]); // ::a.b.c.d (deprecated compatible)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4(g[6], g[7]); // 64:ff9b::/96 NAT64
  if (g[0] === 0x2002) return v4(g[1], g[2]); // 6to4
  return null;
}

/** Why this address may not be a webhook's, or null when it may. */
export function forbiddenAddressReason(ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedIpv4(ip);
    if (inner) {
      const reason = forbiddenAddressReason(inner);
      return reason && `${reason} (IPv4 inside IPv6)`;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const hit = BLOCKS.find((b) => b.list.check(ip.split('%')[0], type));
  return hit ? `${hit.name} address` : null;
}

/** `[::1]` → `::1`, `Example.COM.` → `example.com`. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

function addressAllowed(ip: string, policy: WebhookUrlPolicy): boolean {
  const family = isIP(ip);
  return family !== 0 && policy.allowedAddresses.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** Refusal of one resolved address (or null): the check the sender's `lookup` makes too. */
export function addressRefusal(host: string, ip: string, policy: WebhookUrlPolicy): string | null {
  if (policy.allowPrivate || policy.allowedNames.includes(bareHost(host)) || addressAllowed(ip, policy)) return null;
  const reason = forbiddenAddressReason(ip);
  if (!reason) return null;
  return isIP(bareHost(host)) ? `the host is a ${reason}` : `the host resolves to a ${reason}`;
}

/**
 * What can be said without DNS: credentials, an IP-literal host. Null: nothing against it so far.
 * Credentials are refused whatever the policy: they would sit in job data, logs and Bull Board.
 */
export function webhookUrlRefusal(raw: string, policy: WebhookUrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not an http:// or https:// URL';
  if (url.username || url.password) return 'the URL carries credentials (user:password@): sign the requests with a webhook secret instead';
  const host = bareHost(url.hostname);
  return isIP(host) ? addressRefusal(host, host, policy) : null;
}

export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

/** A create request does not wait longer than this for DNS; an unanswered name is judged at send time. */
const LOOKUP_TIMEOUT_MS = 3_000;

const systemLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DNS answer for ${hostname} within ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS);
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(addresses);
    });
  });

/**
 * The full check: the URL, then every address its host resolves to. Resolves to the reason it is
 * refused, or null. A name that does not resolve is not refused here: the send-time check
 * (which resolves again) decides, and the delivery is retried as any unreachable receiver.
 */
export async function webhookUrlRefusalResolved(raw: string, policy: WebhookUrlPolicy, lookup: LookupAll = systemLookup): Promise<string | null> {
  const early = webhookUrlRefusal(raw, policy);
  if (early) return early;
  const host = bareHost(new URL(raw).hostname);
  if (isIP(host) || policy.allowPrivate || policy.allowedNames.includes(host)) return null;
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host);
  } catch {
    return null;
  }
  for (const a of addresses) {
    const reason = addressRefusal(host, a.address, policy);
    if (reason) return reason;
  }
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request`: resolves the name and refuses to hand the socket a forbidden
 * address, so the address checked is the address connected to (no second resolution to rebind).
 * IP-literal hosts never reach a lookup: check them with `webhookUrlRefusal` first.
 */
export function guardedLookup(policy: WebhookUrlPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number } | undefined, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const reason = addressRefusal(hostname, a.address, policy);
        if (reason) return callback(new WebhookUrlForbiddenError(reason) as NodeJS.ErrnoException, []);
      }
      if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options?.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** WEBHOOK_ALLOWED_HOSTS and WEBHOOK_ALLOW_PRIVATE, for the env of every service that checks webhooks. */
export const WebhookPolicyEnv = z.object({
  /** Development only: webhooks may reach any address (loopback, private network, metadata). */
  WEBHOOK_ALLOW_PRIVATE: booleanString.default(false),
  /** Comma-separated hostnames and CIDRs webhooks may reach although private (a receiver on the compose network). */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const items = value.split(',').map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        if (item.includes('/') && !parseCidr(item)) ctx.addIssue({ code: 'custom', message: `${item} is not a CIDR (e.g. 172.18.0.0/16)` });
      }
      return items;
    }),
});

function parseCidr(item: string): { ip: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const [ip, bits] = item.split('/');
  const family = isIP(ip);
  const prefix = Number(bits);
  if (!family || !/^\d+$/.test(bits ?? '') || prefix > (family === 4 ? 32 : 128)) return null;
  return { ip, prefix, type: family === 4 ? 'ipv4' : 'ipv6' };
}

/** The policy from the parsed env fields (or from plain options in tests). */
export function webhookUrlPolicy(options: { allowPrivate?: boolean; allowedHosts?: string[] } = {}): WebhookUrlPolicy {
  const allowedAddresses = new BlockList();
  const allowedNames: string[] = [];
  for (const item of options.allowedHosts ?? []) {
    const cidr = parseCidr(item);
    if (cidr) allowedAddresses.addSubnet(cidr.ip, cidr.prefix, cidr.type);
    else if (isIP(bareHost(item))) allowedAddresses.addAddress(bareHost(item), isIP(bareHost(item)) === 4 ? 'ipv4' : 'ipv6');
    else allowedNames.push(bareHost(item));
  }
  return { allowPrivate: options.allowPrivate ?? false, allowedNames, allowedAddresses };
}

/** A URL for job data and logs: credentials replaced, so they never leave the create request. */
export function redactUrlCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = 'redacted';
    url.password = 'redacted';
    return url.toString();
  } catch {
    return raw;
  }
}
