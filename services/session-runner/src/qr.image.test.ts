import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { renderQr } from './qr.image';

// A WhatsApp linking code's shape: `ref,publicKey,identityKey,advSecret`, about 240 characters.
const CODE = `2@${'Ab3+/'.repeat(20)},${'k'.repeat(44)},${'i'.repeat(44)},${'s'.repeat(44)}`;

it('draws every module of the code, black on white, in a grayscale PNG half the size of the default', async () => {
  const url = await renderQr(CODE);
  expect(url).toMatch(/^data:image\/png;base64,/);
  const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const png = PNG.sync.read(bytes);
  // qrcode's defaults: 4 modules of quiet zone, 4 pixels per module.
  const { modules } = QRCode.create(CODE);
  const margin = 4;
  const scale = 4;
  expect(png.width).toBe((modules.size + 2 * margin) * scale);
  expect(png.height).toBe(png.width);
  const dark = (x: number, y: number) => png.data[(y * png.width + x) * 4] < 128;
  const drawn: boolean[] = [];
  const expected: boolean[] = [];
  for (let row = -margin; row < modules.size + margin; row++) {
    for (let col = -margin; col < modules.size + margin; col++) {
      // The middle of the module's pixels.
      drawn.push(dark((col + margin) * scale + scale / 2, (row + margin) * scale + scale / 2));
      const inside = row >= 0 && col >= 0 && row < modules.size && col < modules.size;
      expected.push(inside && modules.get(row, col) === 1);
    }
  }
  expect(drawn).toEqual(expected);
  // What made it worth changing: every logged QR carries this.
  expect(url.length).toBeLessThan((await QRCode.toDataURL(CODE)).length * 0.6);
});
