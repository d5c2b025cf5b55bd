import { z } from 'zod';

export { SessionParams } from './common.schemas';

/** The current QR while the session waits for a phone to link. */
export const QrView = z.object({
  /** The raw QR payload (what whatsapp-web.js emits). */
  qr: z.string(),
  /** The same code as a PNG data URL, ready for an `<img src>`. */
  qrDataUrl: z.string(),
});

/** Spaces, dashes, dots, brackets and a leading `+` are dropped; what is left must be 7–15 digits. */
export const PairingCodeBody = z.object({
  phoneNumber: z
    .string()
    .transform((s) => s.replace(/[\s().-]/g, '').replace(/^\+/, ''))
    .pipe(z.string().regex(/^[1-9]\d{6,14}$/, 'must be a phone number in international format, e.g. 12025550108')),
});

export const PairingCodeView = z.object({
  /** Typed on the phone: WhatsApp → Linked devices → Link with phone number. */
  code: z.string(),
});
