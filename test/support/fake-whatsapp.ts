/**
 * A scripted WhatsApp account for lifecycle tests: behaves like the whatsapp-web.js client seen
 * through our interface (QR without auth, ready with it), with its auth "on disk" outliving
 * clients and managers, like LocalAuth's directory.
 */
import { EventEmitter } from 'node:events';
import type { ChatInput, Contact, Message } from '@wa-sync/shared/contracts';
import type { ClientEvents, FetchOptions, MediaDownload, WhatsAppClient, WhatsAppEngine } from '../../services/session-runner/src/engine/engine.interface';

const PER_CHAT = 3;
/** Every chat's newest message (messages are at minutes 0, 1, 2 of 2024-06-01). */
const LAST_MESSAGE_AT = new Date(Date.UTC(2024, 5, 1, 0, PER_CHAT - 1)).toISOString();
export const CHATS: ChatInput[] = [1, 2, 3, 4, 5, 6].map((n) => ({
  id: `1555000000${n}@c.us`,
  name: `Contact ${n}`,
  isGroup: false,
  unreadCount: 0,
  lastMessageAt: LAST_MESSAGE_AT,
}));

export class FakeEngine implements WhatsAppEngine {
  readonly name = 'webjs' as const;
  readonly auth = new Set<string>();
  readonly clients: FakeClient[] = [];
  /** The next this many starts reject, as a launch with no network does. */
  failStarts = 0;
  fetchMs = 15;
  inFlight = 0;
  maxInFlight = 0;
  readonly fetchStarts = new Map<string, number[]>();
  /**
   * Media files by message id, as whatsapp-web.js would answer: bytes, `expired` (downloadMedia()
   * gave undefined), or an Error it throws; an id not listed throws too.
   */
  readonly media = new Map<string, Buffer | 'expired' | Error>();
  /** downloadMedia calls per message id. */
  readonly mediaCalls = new Map<string, number>();
  mediaMs = 0;
  /** Clock the fetch starts are read from: the manager's pacer clock in tests of the pause. */
  now: () => number = () => performance.now();

  /** While held, client starts wait (as a Chromium launch does) and are counted here. */
  startsInFlight = 0;
  startGate?: Promise<void>;
  private releaseGate?: () => void;

  holdStarts(): void {
    this.startGate = new Promise((resolve) => (this.releaseGate = resolve));
  }
  releaseStarts(): void {
    this.releaseGate?.();
    this.startGate = this.releaseGate = undefined;
  }

  createClient(sessionId: string): FakeClient {
    const client = new FakeClient(sessionId, this);
    this.clients.push(client);
    return client;
  }
  async hasAuth(sessionId: string): Promise<boolean> {
    return this.auth.has(sessionId);
  }
  async removeAuth(sessionId: string): Promise<void> {
    this.auth.delete(sessionId);
  }
  clientsOf(sessionId: string): FakeClient[] {
    return this.clients.filter((c) => c.sessionId === sessionId);
  }
  latest(sessionId: string): FakeClient {
    const all = this.clientsOf(sessionId);
    return all[all.length - 1];
  }
}

export interface FakeClient {
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
}

/** Behaves like the whatsapp-web.js client seen through our interface: QR without auth, ready with it. */
export class FakeClient extends EventEmitter implements WhatsAppClient {
  ready = false;
  stopped = false;

  constructor(
    readonly sessionId: string,
    private readonly engine: FakeEngine,
  ) {
    super();
  }

  async start(): Promise<void> {
    const e = this.engine;
    if (e.startGate) {
      e.startsInFlight++;
      await e.startGate.finally(() => e.startsInFlight--);
    }
    if (this.engine.failStarts > 0) {
      this.engine.failStarts--;
      throw new Error('cannot reach WhatsApp Web (net::ERR_NAME_NOT_RESOLVED): check the network');
    }
    setImmediate(() => {
      if (this.stopped) return;
      if (this.engine.auth.has(this.sessionId)) this.link();
      else this.emit('qr', `2@qr-${this.sessionId}`);
    });
  }

  /** The phone scans the QR (or the saved auth is accepted). */
  link(): void {
    this.emit('authenticated');
    this.engine.auth.add(this.sessionId);
    this.ready = true;
    this.emit('ready');
  }

  /** WhatsApp drops the connection; the library destroys its client. */
  drop(reason: string): void {
    this.ready = false;
    this.emit('disconnected', reason);
  }

  async stop({ logout }: { logout: boolean }): Promise<void> {
    this.stopped = true;
    this.ready = false;
    if (logout) this.engine.auth.delete(this.sessionId);
  }

  async getChats(): Promise<ChatInput[]> {
    if (!this.ready) throw new Error('not ready');
    return CHATS;
  }

  async getContacts(): Promise<Contact[]> {
    if (!this.ready) throw new Error('not ready');
    return [];
  }

  async fetchMessages(chatId: string, { limit }: FetchOptions): Promise<Message[]> {
    const e = this.engine;
    e.fetchStarts.set(this.sessionId, [...(e.fetchStarts.get(this.sessionId) ?? []), e.now()]);
    e.maxInFlight = Math.max(e.maxInFlight, ++e.inFlight);
    try {
      await new Promise((r) => setTimeout(r, e.fetchMs));
      if (!this.ready) throw new Error(`client ${this.sessionId} is not ready`);
      return Array.from({ length: Math.min(limit, PER_CHAT) }, (_, i) => ({
        id: `false_${chatId}_M${i}`,
        chatId,
        fromMe: false,
        author: null,
        body: `message ${i}`,
        type: 'chat',
        timestamp: new Date(Date.UTC(2024, 5, 1, 0, i)).toISOString(),
        ack: 3,
        hasMedia: false,
      }));
    } finally {
      e.inFlight--;
    }
  }

  async downloadMedia(_chatId: string, messageId: string): Promise<MediaDownload> {
    const e = this.engine;
    e.mediaCalls.set(messageId, (e.mediaCalls.get(messageId) ?? 0) + 1);
    if (e.mediaMs > 0) await new Promise((r) => setTimeout(r, e.mediaMs));
    if (!this.ready) throw new Error(`client ${this.sessionId} is not ready`);
    const file = e.media.get(messageId);
    if (file === 'expired') return { status: 'expired' };
    if (file === undefined) throw new Error(`no media for ${messageId}`);
    if (file instanceof Error) throw file;
    return { status: 'ok', data: file, mimetype: null, filename: null };
  }

  override on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.off(event, listener);
  }
}
