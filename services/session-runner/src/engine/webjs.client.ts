import { EventEmitter } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChatInput, Contact, Message } from '@wa-sync/shared/contracts';
import { type Logger, withTimeout } from '@wa-sync/shared/runtime';
import { type ClientEvents, type FetchOptions, type MediaDownload, type MediaHint, NotLinkingError, type WhatsAppClient } from './engine.interface';
import {
  type WebjsChat,
  type WebjsMessage,
  STATUS_BROADCAST,
  isChatMessage,
  mapChat,
  mapEdit,
  mapFullMessage,
  mapMessages,
  mapRevoke,
  messageChatId,
} from './webjs.mapping';
import { type ConversationContext, type WebjsContact, mapContacts, mapReactionEvent, mapReactionLists } from './webjs-conversation.mapping';

/**
 * What this client uses of a whatsapp-web.js `Client`: a narrow seam, so the event translation
 * is tested with a plain EventEmitter and the real library is only needed with a browser.
 */
export interface LibraryClient {
  on(event: string, listener: (...args: any[]) => void): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  logout(): Promise<void>;
  getChats(): Promise<WebjsChat[]>;
  getContacts(): Promise<WebjsContact[]>;
  /** The linked account (`client.info`), known once ready. */
  info?: { wid?: { _serialized?: string } } | null;
  requestPairingCode(phoneNumber: string, showNotification?: boolean): Promise<string>;
  getChatById(chatId: string): Promise<{ fetchMessages(options: { limit: number }): Promise<WebjsMessage[]> }>;
  /** `downloadMedia()` answers undefined when WhatsApp no longer has the file, and throws on other errors. */
  getMessageById(messageId: string): Promise<{
    downloadMedia(): Promise<{ mimetype: string; data: string; filename?: string | null } | undefined>;
  } | null>;
}

export interface WebjsClientOptions {
  /** LocalAuth directory of this session (`<WA_AUTH_DIR>/session-<id>`); removed on logout. */
  authPath: string;
  /** Per fetchMessages call (WA_FETCH_TIMEOUT_MS). */
  fetchTimeoutMs: number;
  /** getChats: thousands of chats are serialized out of the page (WA_GET_CHATS_TIMEOUT_MS). */
  getChatsTimeoutMs: number;
  /** Launch and first load of WhatsApp Web, up to the QR or the restored session (WA_START_TIMEOUT_MS). */
  startTimeoutMs: number;
  logoutTimeoutMs?: number;
}

/** Written into the LocalAuth directory once a phone is linked: the directory exists from the first launch. */
export const LINKED_MARKER = 'wa-sync.linked';

export interface WebjsClient {
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
}

/** One session on whatsapp-web.js: library events in, our `ClientEvents` out. Single use. */
export class WebjsClient extends EventEmitter implements WhatsAppClient {
  private lib?: LibraryClient;
  private stopped = false;
  private ready = false;
  /** A QR was shown and no phone has linked yet: a pairing code can be asked for. */
  private linking = false;
  /** Saved contact names by id, from the last getContacts(): a message's senderName. */
  private readonly savedNames = new Map<string, string>();
  private readonly conversation: ConversationContext = {
    savedName: (id) => this.savedNames.get(id),
  };

  constructor(
    readonly sessionId: string,
    /** Builds the library client; throws when it cannot (e.g. no Chromium). */
    private readonly createLibrary: () => LibraryClient,
    private readonly options: WebjsClientOptions,
    private readonly logger: Logger,
  ) {
    super();
  }

  /**
   * Launches Chromium and loads WhatsApp Web; resolves once the QR is shown or the saved session
   * is being restored (`ready` follows as an event). Rejects with a readable reason, and leaves no
   * browser behind, when Chromium or WhatsApp Web cannot be reached.
   */
  async start(): Promise<void> {
    if (this.stopped) throw new Error(`client ${this.sessionId} is stopped`);
    if (this.lib) return;
    const lib = this.createLibrary();
    this.lib = lib;
    this.listen(lib);
    try {
      await withTimeout(lib.initialize(), this.options.startTimeoutMs, `WhatsApp Web did not load within ${this.options.startTimeoutMs} ms`);
    } catch (err) {
      this.stopped = true;
      this.lib = undefined;
      // A failed initialize leaves its browser open.
      await lib.destroy().catch((e) => this.logger.warn({ sessionId: this.sessionId, err: e }, 'closing the browser failed'));
      throw startError(err);
    }
  }

  async stop({ logout }: { logout: boolean }): Promise<void> {
    this.stopped = true;
    this.ready = false;
    const lib = this.lib;
    this.lib = undefined;
    if (lib && logout) {
      // Unlinks the device on the phone; fails when the page never got that far, and that is fine.
      await withTimeout(lib.logout(), this.options.logoutTimeoutMs ?? 15_000, 'logout timed out').catch((err) =>
        this.logger.warn({ sessionId: this.sessionId, err: errorMessage(err) }, 'logout on WhatsApp failed; forgetting the auth anyway'),
      );
    }
    if (lib) await lib.destroy().catch((err) => this.logger.warn({ sessionId: this.sessionId, err }, 'closing the browser failed'));
    if (logout) await rm(this.options.authPath, { recursive: true, force: true, maxRetries: 4 });
  }

  /** whatsapp-web.js `requestPairingCode`: the phone shows a notification to type the code in. */
  async requestPairingCode(phoneNumber: string): Promise<string> {
    const lib = this.lib;
    if (this.stopped || !lib || !this.linking) throw new NotLinkingError(`client ${this.sessionId} is not waiting for a link`);
    return withTimeout(lib.requestPairingCode(phoneNumber, true), this.options.fetchTimeoutMs, 'WhatsApp Web gave no pairing code in time');
  }

  async getChats(): Promise<ChatInput[]> {
    const lib = this.assertReady();
    const chats = await withTimeout(lib.getChats(), this.options.getChatsTimeoutMs, `getChats timed out after ${this.options.getChatsTimeoutMs} ms`);
    return chats.filter((c) => c?.id?._serialized && c.id._serialized !== STATUS_BROADCAST).map(mapChat);
  }

  /** `client.getContacts()`: people only; also what names senders in later messages. */
  async getContacts(): Promise<Contact[]> {
    const lib = this.assertReady();
    const raw = await withTimeout(lib.getContacts(), this.options.getChatsTimeoutMs, `getContacts timed out after ${this.options.getChatsTimeoutMs} ms`);
    const contacts = mapContacts(raw);
    this.savedNames.clear();
    for (const c of contacts) if (c.name) this.savedNames.set(c.id, c.name);
    return contacts;
  }

  async fetchMessages(chatId: string, { limit, reactionState }: FetchOptions): Promise<Message[]> {
    if (!Number.isFinite(limit) || limit < 1) throw new RangeError(`limit must be a finite number >= 1, got ${limit}`);
    const lib = this.assertReady();
    const n = Math.floor(limit);
    // The page keeps working after a timeout (it cannot be cancelled); the job fails and retries.
    const raw = await withTimeout(
      lib.getChatById(chatId).then((chat) => chat.fetchMessages({ limit: n })),
      this.options.fetchTimeoutMs,
      `fetchMessages(${chatId}) timed out after ${this.options.fetchTimeoutMs} ms`,
    );
    this.conversation.me ??= lib.info?.wid?._serialized;
    const mapped = mapMessages(raw, chatId, n, this.conversation);
    await this.addReactions(raw, mapped, reactionState === true);
    return mapped;
  }

  /**
   * `getReactions()` is one page call per message: only for messages that have some, within the
   * fetch's own timeout; a message whose reactions could not be read keeps whatever is stored.
   * With `state`, a message without any (`hasReaction` false) says so with `[]`.
   */
  private async addReactions(raw: readonly WebjsMessage[], mapped: Message[], state: boolean): Promise<void> {
    const byId = new Map(mapped.map((m) => [m.id, m]));
    const deadline = Date.now() + this.options.fetchTimeoutMs;
    for (const msg of raw) {
      const m = byId.get(msg?.id?._serialized);
      if (!m) continue;
      if (!msg.hasReaction) {
        if (state) m.reactions = [];
        continue;
      }
      if (typeof msg.getReactions !== 'function' || Date.now() >= deadline) continue;
      try {
        m.reactions = mapReactionLists(await withTimeout(msg.getReactions!(), Math.max(1, deadline - Date.now()), 'getReactions timed out'));
      } catch (err) {
        this.logger.warn({ sessionId: this.sessionId, id: m.id, err: errorMessage(err) }, 'reactions not read');
      }
    }
  }

  /**
   * whatsapp-web.js hands the file over whole, base64 in the page's answer: it is decoded here and
   * held only until the blob store has it. A message the page cannot find any more is as gone as
   * an expired file. Never called for a file known to be larger than MEDIA_MAX_BYTES (large files
   * are known to hang it).
   */
  async downloadMedia(_chatId: string, messageId: string, _hint?: MediaHint): Promise<MediaDownload> {
    const lib = this.assertReady();
    const media = await withTimeout(
      lib.getMessageById(messageId).then((msg) => (msg ? msg.downloadMedia() : undefined)),
      this.options.fetchTimeoutMs,
      `downloadMedia(${messageId}) timed out after ${this.options.fetchTimeoutMs} ms`,
    );
    if (!media) return { status: 'expired' };
    return { status: 'ok', data: Buffer.from(media.data, 'base64'), mimetype: media.mimetype || null, filename: media.filename || null };
  }

  override on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.off(event, listener);
  }

  private listen(lib: LibraryClient): void {
    lib.on('qr', (qr: string) => {
      this.linking = true;
      this.send('qr', qr);
    });
    lib.on('authenticated', () => {
      this.linking = false;
      this.markLinked();
      this.send('authenticated');
    });
    lib.on('auth_failure', (message: unknown) => {
      this.ready = false;
      this.send('auth_failure', String(message ?? 'unknown reason'));
    });
    lib.on('ready', () => {
      this.ready = true;
      this.send('ready');
    });
    // The library destroys its browser itself, except on LOGOUT (it reloads to a new QR).
    lib.on('disconnected', (reason: unknown) => {
      this.ready = false;
      this.send('disconnected', String(reason ?? 'unknown'));
    });
    lib.on('change_state', (state: unknown) => this.send('state', `connection ${String(state)}`));
    lib.on('loading_screen', (percent: unknown) => this.send('state', `loading chats ${String(percent)}%`));
    // `message` is the incoming subset of `message_create`: listening to both would double them.
    lib.on('message_create', (msg: WebjsMessage) => {
      if (!isChatMessage(msg)) return;
      this.conversation.me ??= this.lib?.info?.wid?._serialized;
      const mapped = this.tryMap(() => mapFullMessage(msg, messageChatId(msg), this.conversation));
      if (mapped) this.send('message', mapped);
    });
    lib.on('message_ack', (msg: WebjsMessage, ack: unknown) => {
      if (!isChatMessage(msg)) return;
      const value = typeof ack === 'number' ? ack : msg.ack;
      if (typeof value !== 'number') return;
      this.send('message_ack', { chatId: messageChatId(msg), id: msg.id._serialized, ack: value });
    });
    lib.on('message_edit', (msg: WebjsMessage, newBody: unknown) => {
      if (!isChatMessage(msg)) return;
      const edit = this.tryMap(() => mapEdit(msg, newBody));
      if (edit) this.send('message_edit', edit);
    });
    // Sent, changed or removed (empty text) by anyone, me included.
    lib.on('message_reaction', (reaction: Parameters<typeof mapReactionEvent>[0]) => {
      const update = this.tryMap(() => mapReactionEvent(reaction));
      if (update && update.chatId !== STATUS_BROADCAST) this.send('message_reaction', update);
    });
    lib.on('message_revoke_everyone', (msg: WebjsMessage) => {
      if (!isChatMessage(msg)) return;
      const revoke = this.tryMap(() => mapRevoke(msg));
      if (revoke) this.send('message_revoke_everyone', revoke);
    });
  }

  private send<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    // A destroyed library may still deliver a late event; the session has moved on.
    if (this.stopped) return;
    this.emit(event, ...args);
  }

  private tryMap<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.logger.warn({ sessionId: this.sessionId, err: errorMessage(err) }, 'live message skipped');
      return undefined;
    }
  }

  private markLinked(): void {
    const { authPath } = this.options;
    mkdir(authPath, { recursive: true })
      .then(() => writeFile(join(authPath, LINKED_MARKER), new Date().toISOString()))
      .catch((err) => this.logger.warn({ sessionId: this.sessionId, err }, 'could not mark the session as linked'));
  }

  private assertReady(): LibraryClient {
    if (this.stopped || !this.lib) throw new Error(`client ${this.sessionId} is stopped`);
    if (!this.ready) throw new Error(`client ${this.sessionId} is not ready`);
    return this.lib;
  }
}

/** The library throws strings ('auth timeout') as well as Errors. */
function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One readable line: puppeteer's launch errors carry the whole browser log. */
export function startError(err: unknown): Error {
  const first = errorMessage(err).split('\n')[0].trim();
  if (/net::ERR_/.test(first)) return new Error(`cannot reach WhatsApp Web (${first}): check the network`);
  if (first === 'auth timeout') return new Error('WhatsApp Web loaded but did not start (auth timeout)');
  return new Error(first || 'unknown error');
}
