import * as zlib from 'node:zlib';
import { fmix32, hashSeed2 } from './simulated.draw';
import { hashString } from './simulated.account';

/**
 * The simulated phone's media files: bytes that are a pure function of SIM_SEED and the message
 * (its id, or for a sticker the pack file it picks) and start with their format's real signature,
 * so a test can check what it serves and a browser draws the PNGs.
 */

/** Stickers come from a small pack shared by every chat: the same file in many chats, stored once. */
export const STICKER_PACK_SIZE = 3;
const STICKER_BYTES = 8192;
/** A PNG's side in pixels: a colored square. */
const PNG_SIDE = 16;

/** Whether the phone no longer has this history file (SIM_MEDIA_EXPIRED_RATE); live files never expire. */
export function simulatedMediaExpired(seed: number, messageId: string, rate: number, live: boolean): boolean {
  if (live || rate <= 0) return false;
  return fmix32(hashSeed2(seed, hashString(messageId)) ^ 0xe4d1) / 4294967296 < rate;
}

/** The file of a media message: `size` bytes (about; a PNG is never cut below what it needs) of `mimetype`. */
export function simulatedMediaFile(seed: number, messageId: string, mimetype: string | null, size: number | null): { data: Buffer; mimetype: string } {
  const type = (mimetype ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
  const target = Math.max(64, size ?? 16384);
  if (type === 'image/webp') {
    const pick = fmix32(hashSeed2(seed, hashString(messageId))) % STICKER_PACK_SIZE;
    return { data: webp(hashSeed2(seed, 0x57ec + pick), STICKER_BYTES + pick * 512), mimetype: mimetype ?? type };
  }
  const key = hashSeed2(seed, hashString(messageId));
  const data =
    type === 'image/png' ? png(key, target)
    : type.startsWith('audio/ogg') ? withHead(Buffer.from('OggS\0\x02', 'latin1'), key, target)
    : type === 'application/pdf' ? withHead(Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'), key, target, Buffer.from('\n%%EOF\n'))
    : type === 'video/mp4' ? mp4(key, target)
    : noise(key, target);
  return { data, mimetype: mimetype ?? type };
}

/** Bytes drawn once per file (a 4 KiB block), then repeated natively: the bench's 1 MiB files cost the simulator next to nothing. */
const BLOCK = 4096;
function noise(key: number, n: number): Buffer {
  return noiseInto(Buffer.allocUnsafe(n), key);
}

/** Fills `target` with `noise(key, target.length)`'s bytes, in place: a file is allocated once. */
function noiseInto(target: Buffer, key: number): Buffer {
  const n = target.length;
  const block = n <= BLOCK ? target : Buffer.allocUnsafe(BLOCK);
  let s = key >>> 0;
  let i = 0;
  for (; i + 4 <= block.length; i += 4) {
    s = (s + 0x6d2b79f5) >>> 0;
    block.writeUInt32LE(fmix32(s), i);
  }
  for (; i < block.length; i++) block[i] = fmix32(s + i) & 0xff;
  return n <= BLOCK ? target : target.fill(block);
}

function withHead(head: Buffer, key: number, n: number, tail = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(head.length + Math.max(0, n - head.length - tail.length) + tail.length);
  head.copy(out, 0);
  noiseInto(out.subarray(head.length, out.length - tail.length), key);
  tail.copy(out, out.length - tail.length);
  return out;
}

/** `ftyp` box, then a `free` box filling the size: a well-formed box sequence. */
function mp4(key: number, n: number): Buffer {
  // size 24, 'ftyp', major brand isom, minor version 0x200, compatible brands isom and mp42.
  const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom', 'latin1'), Buffer.from([0, 0, 2, 0]), Buffer.from('isommp42', 'latin1')]);
  const freeLen = Math.max(8, n - ftyp.length);
  const out = Buffer.allocUnsafe(ftyp.length + freeLen);
  ftyp.copy(out, 0);
  out.writeUInt32BE(freeLen, ftyp.length);
  out.write('free', ftyp.length + 4, 'latin1');
  noiseInto(out.subarray(ftyp.length + 8), key);
  return out;
}

/** RIFF container of type WEBP with one private chunk (a lossless image is not needed to test serving). */
function webp(key: number, n: number): Buffer {
  const body = noise(key, Math.max(0, n - 20) & ~1);
  const chunk = Buffer.concat([Buffer.from('XTRA', 'latin1'), u32le(body.length), body]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(4 + chunk.length), Buffer.from('WEBP', 'latin1'), chunk]);
}

/** A colored square (8-bit RGB) a browser draws, padded to the size by a private ancillary chunk (`waPd`). */
function png(key: number, n: number): Buffer {
  const [r, g, b] = [key & 0xff, (key >>> 8) & 0xff, (key >>> 16) & 0xff];
  const row = Buffer.alloc(1 + PNG_SIDE * 3);
  for (let x = 0; x < PNG_SIDE; x++) row.set([r, g, b], 1 + x * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(PNG_SIDE, 0);
  ihdr.writeUInt32BE(PNG_SIDE, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(Array(PNG_SIDE).fill(row))))];
  const end = chunk('IEND', Buffer.alloc(0));
  const used = parts.reduce((a, p) => a + p.length, 0) + end.length;
  const pad = n - used >= 12 ? n - used - 12 : -1;
  // One allocation: the padding chunk (the file's bulk) is drawn in place and summed there.
  const out = Buffer.allocUnsafe(used + (pad >= 0 ? pad + 12 : 0));
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  if (pad >= 0) {
    out.writeUInt32BE(pad, at);
    out.write('waPd', at + 4, 'latin1');
    const data = noiseInto(out.subarray(at + 8, at + 8 + pad), key);
    out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8), data), at + 8 + pad);
    at += pad + 12;
  }
  end.copy(out, at);
  return out;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
/** zlib's own (Node 20.15+), else a table-driven one. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

function crc32(type: Buffer, data: Buffer): number {
  if (nativeCrc32) return nativeCrc32(data, nativeCrc32(type)) >>> 0;
  let c = 0xffffffff;
  for (const buf of [type, data]) for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
