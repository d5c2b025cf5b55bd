import { inflateSync } from 'node:zlib';
import { STICKER_PACK_SIZE, simulatedMediaExpired, simulatedMediaFile } from './simulated.media';

/** Walks a PNG's chunks (checking each CRC) and answers their types and the inflated image data. */
function readPng(buf: Buffer): { types: string[]; width: number; height: number; pixels: Buffer } {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  const types: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  for (let at = 8; at < buf.length; ) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    const { crc32 } = require('node:zlib') as { crc32?: (b: Buffer) => number };
    if (crc32) expect(buf.readUInt32BE(at + 8 + len)).toBe(crc32(buf.subarray(at + 4, at + 8 + len)));
    if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === 'IDAT') idat.push(data);
    types.push(type);
    at += 12 + len;
  }
  return { types, width, height, pixels: inflateSync(Buffer.concat(idat)) };
}

describe('simulated media files', () => {
  it('start with their format signature and are the announced size', () => {
    const cases: [string, (b: Buffer) => boolean][] = [
      ['image/png', (b) => b.subarray(1, 4).toString() === 'PNG'],
      ['audio/ogg; codecs=opus', (b) => b.subarray(0, 4).toString() === 'OggS'],
      ['audio/ogg', (b) => b.subarray(0, 4).toString() === 'OggS'],
      ['application/pdf', (b) => b.subarray(0, 5).toString() === '%PDF-'],
      ['video/mp4', (b) => b.subarray(4, 8).toString() === 'ftyp'],
    ];
    for (const [mimetype, signed] of cases) {
      const { data } = simulatedMediaFile(7, `false_1@c.us_${mimetype}`, mimetype, 20_000);
      expect(signed(data)).toBe(true);
      expect(data.length).toBe(20_000);
    }
    const webp = simulatedMediaFile(7, 'sticker-1', 'image/webp', 20_000).data;
    expect(webp.subarray(0, 4).toString()).toBe('RIFF');
    expect(webp.subarray(8, 12).toString()).toBe('WEBP');
    expect(webp.readUInt32LE(4)).toBe(webp.length - 8);
  });

  it('are a pure function of the seed and the message id', () => {
    const a = simulatedMediaFile(7, 'm-1', 'image/png', 5000).data;
    expect(simulatedMediaFile(7, 'm-1', 'image/png', 5000).data.equals(a)).toBe(true);
    expect(simulatedMediaFile(8, 'm-1', 'image/png', 5000).data.equals(a)).toBe(false);
    expect(simulatedMediaFile(7, 'm-2', 'image/png', 5000).data.equals(a)).toBe(false);
  });

  it('draws a PNG as a valid image: IHDR, IDAT of 16 rows of 16 RGB pixels, a padding chunk, IEND', () => {
    const png = readPng(simulatedMediaFile(3, 'photo', 'image/png', 16_384).data);
    expect(png.types).toEqual(['IHDR', 'IDAT', 'waPd', 'IEND']);
    expect([png.width, png.height]).toEqual([16, 16]);
    expect(png.pixels.length).toBe(16 * (1 + 16 * 3));
  });

  it('picks stickers from a small pack: the same sticker file shows up in many chats', () => {
    const files = new Set(Array.from({ length: 40 }, (_, i) => simulatedMediaFile(5, `sticker-msg-${i}`, 'image/webp', 16_384).data.toString('base64')));
    expect(files.size).toBe(STICKER_PACK_SIZE);
  });

  it('expires about the configured share of history files, never a live one', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `false_x@c.us_${i}`);
    const expired = ids.filter((id) => simulatedMediaExpired(1, id, 0.05, false)).length;
    expect(expired).toBeGreaterThan(120);
    expect(expired).toBeLessThan(280);
    expect(ids.some((id) => simulatedMediaExpired(1, id, 0.05, true))).toBe(false);
    expect(ids.some((id) => simulatedMediaExpired(1, id, 0, false))).toBe(false);
  });
});
