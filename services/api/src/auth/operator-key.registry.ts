import { createHash, timingSafeEqual } from 'node:crypto';

export interface NamedKey {
  /** Shown in logs instead of the key. */
  name: string;
  key: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * `API_KEYS=name:key,…` as a list; a malformed entry is an error naming it (never the key).
 * Keys may contain `:` (only the first one separates the name).
 */
export function parseApiKeys(value: string | undefined): NamedKey[] {
  if (!value?.trim()) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const colon = entry.indexOf(':');
      const name = colon === -1 ? '' : entry.slice(0, colon);
      const key = colon === -1 ? '' : entry.slice(colon + 1);
      if (!NAME.test(name) || !key) throw new Error(`entry ${i + 1} is not name:key (name: letters, digits, _ . -)`);
      return { name, key };
    });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The operator's keys: API_KEY (named `default`) and API_KEYS, all accepted at once so a key can be
 * rotated without downtime. Auth is on when there is at least one.
 */
export class OperatorKeys {
  private readonly keys: { name: string; digest: Buffer }[];

  constructor(apiKey: string | undefined, apiKeys: NamedKey[] = []) {
    const all = [...(apiKey ? [{ name: 'default', key: apiKey }] : []), ...apiKeys];
    this.keys = all.map(({ name, key }) => ({ name, digest: digest(key) }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /**
   * The key `given` is: its name, and a short id of its hash (a rate-limit bucket that changes
   * with the key), or null. Both sides are hashed first and every key is
   * compared, so neither the length, the content nor which key matched leaks through timing.
   */
  match(given: string): { name: string; id: string } | null {
    const candidate = digest(given);
    let found: { name: string; id: string } | null = null;
    for (const { name, digest: expected } of this.keys) {
      if (timingSafeEqual(candidate, expected) && found === null) found = { name, id: expected.toString('hex').slice(0, 16) };
    }
    return found;
  }
}
