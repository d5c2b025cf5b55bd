// The QR code as the PNG data URL that `qr` events, the session's live hash and GET …/qr carry.
import QRCode, { type QRCodeToDataURLOptions } from 'qrcode';

/**
 * Grayscale: the same pixels as qrcode's default PNG (RGBA) at about half the bytes (3.5 KB of
 * data URL instead of 6.6 for a WhatsApp code). Every QR is logged in the session's event log, which
 * an idle session keeps, so this is most of what linking leaves in Redis. `colorType` is pngjs's
 * option, which qrcode's PNG renderer passes on (its types only name JPEG's `quality`).
 */
const GRAYSCALE_PNG = { type: 'image/png', rendererOpts: { colorType: 0 } } as unknown as QRCodeToDataURLOptions;

export function renderQr(qr: string): Promise<string> {
  return QRCode.toDataURL(qr, GRAYSCALE_PNG);
}
