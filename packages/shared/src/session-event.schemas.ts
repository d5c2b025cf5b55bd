import { z } from 'zod';
import { MediaDescriptor, Message, Reaction, SessionId, SessionStatus, type SyncRun, SyncSnapshot } from './domain.schemas';

/**
 * Session events: one zod schema per event type. The runner, the workers and the Lua progress
 * scripts write them to the session's event log (a Redis Stream) and announce them; the API,
 * the dashboard and the tests read them with these same schemas.
 */
const sessionRef = { sessionId: z.string() };

export const SessionEventSchemas = {
  qr: z.object({ ...sessionRef, qr: z.string(), qrDataUrl: z.string() }),
  authenticated: z.object(sessionRef),
  ready: z.object(sessionRef),
  status: z.object({ ...sessionRef, status: SessionStatus, detail: z.string().nullable() }),
  sync_chats: SyncSnapshot,
  sync_error: z.object({ ...sessionRef, syncId: z.string(), chatId: z.string().optional(), message: z.string() }),
  disconnected: z.object({ ...sessionRef, reason: z.string() }),
  'message:new': Message.extend(sessionRef),
  'message:status': z.object({ ...sessionRef, chatId: z.string(), id: z.string(), ack: z.number().int() }),
  'message:edit': z.object({ ...sessionRef, chatId: z.string(), id: z.string(), body: z.string(), editedAt: z.string() }),
  'message:revoke': z.object({ ...sessionRef, chatId: z.string(), id: z.string() }),
  /** A message's file reached a final status (stored, skipped, expired, failed). */
  'message:media': z.object({ ...sessionRef, chatId: z.string(), id: z.string(), media: MediaDescriptor }),
  /** A reaction was set, changed or removed: the message's reactions after it. */
  'message:reaction': z.object({ ...sessionRef, chatId: z.string(), id: z.string(), reactions: z.array(Reaction) }),
  /** Once per finished sync, after its data is stored (downstream delivery reads it too). */
  session_ready: z.object({
    ...sessionRef,
    syncId: z.string(),
    kind: z.enum(['full', 'catch-up']),
    chats: z.array(z.string()),
    nChats: z.number().int(),
    totalMessages: z.number().int(),
    chatsFailed: z.number().int(),
  }),
} as const;
export type SessionEventName = keyof typeof SessionEventSchemas;
export const SESSION_EVENT_NAMES = Object.keys(SessionEventSchemas) as SessionEventName[];
export type SessionEvents = { [K in SessionEventName]: z.infer<(typeof SessionEventSchemas)[K]> };

export function isSessionEventName(name: string): name is SessionEventName {
  return Object.hasOwn(SessionEventSchemas, name);
}

/** Server → client WebSocket events, `{ event, data, id? }` frames (`id` on logged events). */
export interface ServerEvents extends SessionEvents {
  joined: {
    sessionId: string;
    status: SessionStatus | null;
    qr?: string;
    qrDataUrl?: string;
    sync: SyncSnapshot | null;
    /** Present when the join carried `since`: false when the log no longer holds that id. */
    resumed?: boolean;
  };
  left: { sessionId: string };
  error: { code: string; message: string };
  /** `watch-sessions` (operator only): every session now, then each change. */
  sessions: { sessions: SessionStatusUpdate[] };
  'session:status': SessionStatusUpdate;
  'session:removed': { sessionId: string };
  /** The answer to `unwatch-sessions`. */
  unwatched: Record<string, never>;
}

/** One session as `watch-sessions` reports it, on every change of its status, runner or last sync. */
export interface SessionStatusUpdate {
  sessionId: string;
  status: SessionStatus;
  detail: string | null;
  runnerId: string | null;
  lastSync: SyncRun | null;
}
export type ServerEventName = keyof ServerEvents;

/** A log id as Redis Streams write it (`<ms>-<seq>`). */
export const EventId = z.string().regex(/^\d{1,20}-\d{1,20}$/, 'must be an event id like 1700000000000-0');

/** Client → server WebSocket events, validated by the API. */
export const ClientEvents = {
  'join-session': z.object({ sessionId: SessionId, since: EventId.optional() }),
  'leave-session': z.object({ sessionId: SessionId }),
  /** Operator only: follow every session's status (`sessions`, then `session:status` / `session:removed`). */
  'watch-sessions': z.object({}),
  'unwatch-sessions': z.object({}),
} as const;
export type ClientEventName = keyof typeof ClientEvents;
export type ClientEvents = { [K in ClientEventName]: z.infer<(typeof ClientEvents)[K]> };

export function isClientEventName(name: string): name is ClientEventName {
  return Object.hasOwn(ClientEvents, name);
}

export const ClientFrame = z.object({ event: z.string(), data: z.unknown().optional() });

/** A logged session event as it leaves the log: on the pub/sub channel and on replay. */
export interface BusEnvelope<E extends SessionEventName = SessionEventName> {
  sessionId: string;
  event: E;
  data: SessionEvents[E];
  /** The event's id in the session's log: the resume point (WS `since`, SSE `Last-Event-ID`). */
  id: string;
}

/** Version of the log entry envelope; an entry of another version is skipped on read. */
export const EVENT_ENTRY_VERSION = 1;

/** The JSON stored in a log entry and published on the channel. Parsed on read, never trusted. */
export const EventEnvelope = z
  .object({ v: z.literal(EVENT_ENTRY_VERSION), sessionId: SessionId, event: z.string(), data: z.unknown(), id: EventId.optional() })
  .transform((raw, ctx) => {
    if (!isSessionEventName(raw.event)) {
      ctx.addIssue({ code: 'custom', message: `unknown event "${raw.event}"` });
      return z.NEVER;
    }
    const data = SessionEventSchemas[raw.event].safeParse(raw.data);
    if (!data.success) {
      ctx.addIssue({ code: 'custom', message: `${raw.event}: ${data.error.issues[0]?.path.join('.')}: ${data.error.issues[0]?.message}` });
      return z.NEVER;
    }
    return { sessionId: raw.sessionId, event: raw.event, data: data.data, id: raw.id };
  });
