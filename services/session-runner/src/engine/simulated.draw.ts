/**
 * What the simulated account needs per generated message, made cheap: a first sync generates every
 * message of the account (200,000 for 2,000 chats × 100), so no closure, `Date` or intermediate
 * string per message. Each function equals a plain one it replaces (see the comments).
 */

/** murmur3 finaliser: a bijection on 32-bit integers (distinct inputs → distinct outputs). */
export function fmix32(h: number): number {
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** `hashSeed(a, b)` without the rest-parameter array (once per generated message). */
export function hashSeed2(a: number, b: number): number {
  const h = fmix32((0x9e3779b9 ^ fmix32(Math.floor(a) >>> 0)) + 0x7f4a7c15);
  return fmix32((h ^ fmix32(Math.floor(b) >>> 0)) + 0x7f4a7c15);
}

/**
 * The same sequence as `mulberry32(seed)`, without a closure per stream: `seedDraws(seed)`, then
 * `draw()`. One stream at a time (module state); history generation is synchronous, so it never
 * interleaves with another.
 */
// A typed array, not a `let`: a module-level number above 2^30 is boxed anew on every store.
const drawState = new Uint32Array(1);
export function seedDraws(seed: number): void {
  drawState[0] = seed;
}
export function draw(): number {
  drawState[0] += 0x6d2b79f5;
  let t = drawState[0];
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Char code of the upper-case hex digit of n's 4 bits at `shift`. */
const nib = (n: number, shift: number): number => {
  const d = (n >>> shift) & 15;
  return d < 10 ? 48 + d : 55 + d;
};
/** `hex(a, 6) + hex(b, 6) + hex(c, 8)` for 24-bit a, b and a 32-bit c: one string, no intermediate ones. */
export const hex668 = (a: number, b: number, c: number): string =>
  String.fromCharCode(
    nib(a, 20), nib(a, 16), nib(a, 12), nib(a, 8), nib(a, 4), nib(a, 0),
    nib(b, 20), nib(b, 16), nib(b, 12), nib(b, 8), nib(b, 4), nib(b, 0),
    nib(c, 28), nib(c, 24), nib(c, 20), nib(c, 16), nib(c, 12), nib(c, 8), nib(c, 4), nib(c, 0),
  );
/** `hex(a, 8) + hex(b, 8)` for 32-bit a and b: one string. */
export const hex88 = (a: number, b: number): string =>
  String.fromCharCode(
    nib(a, 28), nib(a, 24), nib(a, 20), nib(a, 16), nib(a, 12), nib(a, 8), nib(a, 4), nib(a, 0),
    nib(b, 28), nib(b, 24), nib(b, 20), nib(b, 16), nib(b, 12), nib(b, 8), nib(b, 4), nib(b, 0),
  );

/**
 * `new Date(floorSec(ms)).toISOString()` as one string and without a Date (the Date and its
 * formatting were most of the generation's CPU). Civil date from days: H. Hinnant's algorithm.
 */
export function isoSecond(ms: number): string {
  const secs = Math.floor(ms / 1000);
  const days = Math.floor(secs / 86400);
  const sod = secs - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  // toISOString writes other years as ±YYYYYY (and throws on NaN).
  if (!(y >= 0 && y <= 9999)) return new Date(secs * 1000).toISOString();
  const h = Math.floor(sod / 3600);
  const mi = Math.floor(sod / 60) % 60;
  const s = sod % 60;
  const c = (n: number, unit: number): number => 48 + (Math.floor(n / unit) % 10);
  return String.fromCharCode(
    c(y, 1000), c(y, 100), c(y, 10), c(y, 1), 45, c(m, 10), c(m, 1), 45, c(d, 10), c(d, 1), 84,
    c(h, 10), c(h, 1), 58, c(mi, 10), c(mi, 1), 58, c(s, 10), c(s, 1), 46, 48, 48, 48, 90,
  );
}
