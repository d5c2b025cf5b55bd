import type { BusEnvelope } from '@wa-sync/shared/contracts';
import { wsTextFrame } from './ws.frame';

/**
 * Serialized forms of a bus event, computed once per event and shared by every socket and SSE
 * stream it goes to: fan-out to N clients costs one JSON.stringify and one UTF-8 encoding, not N
 * (a string sent to N sockets would be encoded N times). Keyed by the envelope object, so an
 * event is forgotten as soon as nothing holds it.
 */
const wsFrames = new WeakMap<BusEnvelope, Buffer>();
const sseFrames = new WeakMap<BusEnvelope, Buffer>();

/**
 * `{ "event", "data", "id" }` of a logged event as a complete WebSocket text frame (header
 * included), ready to be written to any socket's TCP stream.
 */
export function frameOf(envelope: BusEnvelope): Buffer {
  let frame = wsFrames.get(envelope);
  if (frame === undefined) {
    frame = wsTextFrame(Buffer.from(JSON.stringify({ event: envelope.event, data: envelope.data, id: envelope.id })));
    wsFrames.set(envelope, frame);
  }
  return frame;
}

/** `id:`, `event:` and `data:` lines of a logged event, as Server-Sent Events carry it. */
export function sseFrameOf(envelope: BusEnvelope): Buffer {
  let frame = sseFrames.get(envelope);
  if (frame === undefined) {
    frame = Buffer.from(sseEvent(envelope.event, envelope.data, envelope.id));
    sseFrames.set(envelope, frame);
  }
  return frame;
}

/** One SSE event. JSON has no raw newlines, so `data:` is one line. */
export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
