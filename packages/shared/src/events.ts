import { z } from 'zod';
import type { Message, SessionStatus, SyncSnapshot } from './domain';
import { SessionId } from './domain';

/** Server → client WebSocket events, `{ event, data }` frames. */
export interface ServerEvents {
  joined: { sessionId: string; status: SessionStatus | null; qr?: string; qrDataUrl?: string; sync: SyncSnapshot | null };
  left: { sessionId: string };
  qr: { sessionId: string; qr: string; qrDataUrl: string };
  authenticated: { sessionId: string };
  ready: { sessionId: string };
  status: { sessionId: string; status: SessionStatus; detail: string | null };
  sync_chats: SyncSnapshot;
  sync_error: { sessionId: string; syncId: string; chatId?: string; message: string };
  disconnected: { sessionId: string; reason: string };
  'message:new': Message & { sessionId: string };
  'message:status': { sessionId: string; chatId: string; id: string; ack: number };
  error: { code: string; message: string };
}
export type ServerEventName = keyof ServerEvents;

/** Client → server WebSocket events, validated by the API. */
export const ClientEvents = {
  'join-session': z.object({ sessionId: SessionId }),
  'leave-session': z.object({ sessionId: SessionId }),
} as const;
export type ClientEventName = keyof typeof ClientEvents;
export type ClientEvents = { [K in ClientEventName]: z.infer<(typeof ClientEvents)[K]> };

export const ClientFrame = z.object({ event: z.string(), data: z.unknown().optional() });

/** Session-scoped events that travel from the runner and workers to the API over Redis pub/sub. */
export type SessionEventName = Exclude<ServerEventName, 'joined' | 'left' | 'error'>;
export interface BusEnvelope<E extends SessionEventName = SessionEventName> {
  sessionId: string;
  event: E;
  data: ServerEvents[E];
}
