/**
 * PostgreSQL's text and jsonb cannot hold U+0000, which WhatsApp texts may carry (the store
 * contract round-trips it). Texts that could be affected are stored escaped: U+0000 as
 * U+FFFF '0', U+FFFF itself as U+FFFF U+FFFF (a noncharacter: real text almost never has one, so
 * nearly every text is stored as it is and reads back without a copy).
 */
const MARK = '\uFFFF';

export function encodeText(text: string): string;
export function encodeText(text: string | null): string | null;
export function encodeText(text: string | null): string | null {
  if (text === null || (text.indexOf('\0') === -1 && text.indexOf(MARK) === -1)) return text;
  return text.replace(/[\0\uFFFF]/g, (c) => (c === '\0' ? `${MARK}0` : MARK + MARK));
}

export function decodeText(text: string): string;
export function decodeText(text: string | null): string | null;
export function decodeText(text: string | null): string | null {
  if (text === null || text.indexOf(MARK) === -1) return text;
  return text.replace(/\uFFFF([0\uFFFF])/g, (_m, c: string) => (c === '0' ? '\0' : MARK));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A value as jsonb text: strings escaped as above, lone surrogates as U+FFFD (JSON.stringify would
 * write `\ud83d`, which jsonb refuses; text columns get the same U+FFFD from the UTF-8 encoding).
 */
export function toJsonb(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const plain = JSON.stringify(value);
  // JSON.stringify writes U+0000 and lone surrogates as \u escapes: without those (or U+FFFF), the
  // text is stored as it is (a stray match, e.g. an escaped backslash, only takes the slow path).
  if (!/\\u(0000|d[89a-f])|\uFFFF/i.test(plain)) return plain;
  return JSON.stringify(value, (_k, x: unknown) => (typeof x === 'string' ? encodeText(x.replace(LONE_SURROGATE, '\uFFFD')) : x));
}
