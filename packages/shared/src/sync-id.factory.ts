import { randomBytes } from 'node:crypto';

/** Sync ids sort by time and avoid `:` (BullMQ job ids may not contain it). */
export function newSyncId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}
