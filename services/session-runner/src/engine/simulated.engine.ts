import { EventEmitter } from 'node:events';
import type { ChatInput, Contact, Message } from '@wa-sync/shared/contracts';
import { type ClientEvents, type FetchOptions, type MediaDownload, type MediaHint, NotLinkingError, type WhatsAppClient, type WhatsAppEngine } from './engine.interface';
import { simulatedMediaExpired, simulatedMediaFile } from './simulated.media';
import { SIM_MEDIA_BYTES_DEFAULT, SimulatedAccount, hashSeed, hashString, mulberry32, type Rng } from './simulated.account';
import { SimulatedLive } from './simulated.live';
import type { ClientTracker, SimulatedLink } from './simulated.presence';

/**
 * Where the simulated phone's clock anchor (the session's first `ready`) is kept: the store in
 * the runner, so the history and live traffic survive restarts; memory by default.
 */
export interface SimulatedAnchors {
  /** Records `nowMs` as the session's first ready unless one is kept; resolves to the kept one. */
  firstReady(sessionId: string, nowMs: number): Promise<number>;
}

/** What the simulated phone served: counted per call, for tests and figures. */
export type FetchObserver = (sessionId: string, chatId: string, messages: number) => void;

export interface SimulatedEngineOptions {
  /** Chats of the account (SIM_CHATS). */
  chats: number;
  /** History length of every chat (SIM_MESSAGES_PER_CHAT). */
  messagesPerChat: number;
  /** Delay of every fetchMessages call (SIM_FETCH_LATENCY_MS). */
  fetchLatencyMs: number;
  /** Probability in [0, 1] that one fetchMessages call fails transiently (SIM_FAIL_RATE). */
  failRate: number;
  /** Same seed, same account (SIM_SEED). */
  seed: number;
  /** The phone "scans" the QR this long after start (SIM_AUTO_SCAN_MS); Infinity (or > 2^31-1): never. */
  autoScanMs: number;
  /** Chats whose fetch always fails: a permanently failing chat, for tests. */
  failChatIds?: string[];
  /** Live message k arrives k·liveIntervalMs after the session's first ready (SIM_LIVE_INTERVAL_MS); 0: off. */
  liveIntervalMs?: number;
  /** Every n-th live message is edited later (SIM_EDIT_EVERY); 0: never. */
  editEvery?: number;
  /** Every n-th live message is deleted for everyone later (SIM_REVOKE_EVERY); 0: never. */
  revokeEvery?: number;
  /** Every n-th live message gets a reaction later, every second one removed again (SIM_REACT_EVERY); 0: never. */
  reactEvery?: number;
  /** Media files are announced around this size (SIM_MEDIA_BYTES). */
  mediaBytes?: number;
  /** A new QR while not scanned, like WhatsApp Web. */
  qrRefreshMs?: number;
  /** Share of history media files the phone no longer has (SIM_MEDIA_EXPIRED_RATE). */
  mediaExpiredRate?: number;
  /** Keeps a linked marker per session: a later client starts without a QR (SIM_KEEP_AUTH). */
  auth?: SimulatedLink | null;
  /** Records live clients in Redis (SIM_TRACK_CLIENTS, tests). */
  tracker?: ClientTracker | null;
}

export const SIMULATED_DEFAULTS: Required<SimulatedEngineOptions> = {
  chats: 25,
  messagesPerChat: 120,
  fetchLatencyMs: 20,
  failRate: 0,
  seed: 1,
  autoScanMs: 1500,
  failChatIds: [],
  liveIntervalMs: 0,
  editEvery: 0,
  revokeEvery: 0,
  reactEvery: 0,
  mediaBytes: SIM_MEDIA_BYTES_DEFAULT,
  qrRefreshMs: 20_000,
  mediaExpiredRate: 0.05,
  auth: null,
  tracker: null,
};

/** authenticated → ready: WhatsApp Web loads chats in between. */
const READY_DELAY_MS = 100;
/** setTimeout fires at once beyond this; a longer autoScanMs means "never". */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SimulatedEngine implements WhatsAppEngine {
  readonly name = 'simulated' as const;
  readonly options: Required<SimulatedEngineOptions>;
  private shared?: SimulatedAccount;
  readonly anchors: SimulatedAnchors;

  constructor(
    options: Partial<SimulatedEngineOptions> = {},
    hooks: { anchors?: SimulatedAnchors; onFetch?: FetchObserver } = {},
  ) {
    // An explicit `undefined` (e.g. an unset env value) keeps the default.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const o: Required<SimulatedEngineOptions> = { ...SIMULATED_DEFAULTS, ...given };
    for (const key of ['chats', 'messagesPerChat', 'editEvery', 'revokeEvery', 'reactEvery', 'mediaBytes'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 0) throw new RangeError(`${key} must be an integer >= 0`);
    }
    if (!(o.failRate >= 0 && o.failRate <= 1)) throw new RangeError('failRate must be within [0, 1]');
    for (const key of ['fetchLatencyMs', 'autoScanMs', 'liveIntervalMs', 'qrRefreshMs'] as const) {
      if (!(o[key] >= 0)) throw new RangeError(`${key} must be >= 0`);
    }
    if (!(o.qrRefreshMs > 0)) throw new RangeError('qrRefreshMs must be > 0');
    this.options = o;
    this.anchors = hooks.anchors ?? memoryAnchors();
    this.onFetch = hooks.onFetch;
  }

  private readonly onFetch?: FetchObserver;

  /** Built on first use and shared by all clients: only the chat list, messages are made on demand. */
  get account(): SimulatedAccount {
    this.shared ??= new SimulatedAccount(this.options);
    return this.shared;
  }

  createClient(sessionId: string): SimulatedClient {
    return new SimulatedClient(sessionId, this.account, this.options, this.anchors, this.onFetch);
  }

  /** Without `auth` the simulated phone keeps nothing on disk: restore falls back to the stored status. */
  async hasAuth(sessionId?: string): Promise<boolean> {
    return !!sessionId && !!(await this.options.auth?.has(sessionId));
  }

  async removeAuth(sessionId?: string): Promise<void> {
    if (sessionId) await this.options.auth?.remove(sessionId);
  }
}

function memoryAnchors(): SimulatedAnchors {
  const kept = new Map<string, number>();
  return {
    async firstReady(sessionId, nowMs) {
      if (!kept.has(sessionId)) kept.set(sessionId, nowMs);
      return kept.get(sessionId)!;
    },
  };
}

type State = 'idle' | 'qr' | 'authenticated' | 'ready' | 'stopped';

interface Sleeper {
  timer: NodeJS.Timeout;
  reject: (err: Error) => void;
}

export interface SimulatedClient {
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
}

export class SimulatedClient extends EventEmitter implements WhatsAppClient {
  private state: State = 'idle';
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<Sleeper>();
  private liveTimer?: NodeJS.Timeout;
  /** The phone's clock, known from the first `ready` on. */
  private phone?: SimulatedLive;
  /** Live events up to this instant have been emitted. */
  private emittedTo = 0;
  private qrCount = 0;
  private trackerField?: string;
  /**
   * Transient failures: a PRNG seeded by (seed, sessionId) and advanced by every fetch call.
   * Each call draws anew, so a retry of a failed call can succeed, and a given order of calls
   * gives the same outcomes on every run.
   */
  private readonly failRng: Rng;
  private readonly failChatIds: Set<string>;

  constructor(
    readonly sessionId: string,
    /** The account behind this client; exposed for tests (e.g. `messagesGenerated`). */
    readonly account: SimulatedAccount,
    private readonly options: Required<SimulatedEngineOptions>,
    private readonly anchors: SimulatedAnchors,
    private readonly onFetch?: FetchObserver,
  ) {
    super();
    const base = hashSeed(options.seed, hashString(sessionId));
    this.failRng = mulberry32(hashSeed(base, 0xfa11));
    this.failChatIds = new Set(options.failChatIds);
  }

  /** The session's first ready (epoch ms), where the phone's clock starts; known once ready. */
  get anchorMs(): number | undefined {
    return this.phone?.anchorMs;
  }

  /** Idempotent until stopped; lifecycle follows through events: qr → authenticated → ready. */
  async start(): Promise<void> {
    this.assertNotStopped();
    if (this.state !== 'idle') return;
    this.state = 'qr';
    if (this.options.tracker) {
      const field = await this.options.tracker.up(this.sessionId);
      if ((this.state as State) === 'stopped') await this.options.tracker.down(this.sessionId, field);
      else this.trackerField = field;
    }
    if (await this.options.auth?.has(this.sessionId)) {
      // Linked before: no QR, straight to authenticated → ready.
      this.later(0, () => this.scanNow());
      return;
    }
    this.later(0, () => this.showQr());
    if (this.options.autoScanMs <= MAX_TIMER_MS) this.later(this.options.autoScanMs, () => this.scanNow());
  }

  /** The phone scans the current QR now (for tests that keep autoScanMs at Infinity). */
  scanNow(): void {
    if (this.state !== 'qr') return;
    this.state = 'authenticated';
    // Not awaited (scanNow is synchronous for tests); a failed save only costs a QR at the next start.
    this.options.auth?.save(this.sessionId).catch(() => undefined);
    this.emitEvent('authenticated');
    this.later(READY_DELAY_MS, () => {
      this.anchors
        .firstReady(this.sessionId, Date.now())
        .then((anchorMs) => this.becomeReady(anchorMs))
        .catch((err) => {
          if (this.state === 'stopped') return;
          this.state = 'stopped';
          this.emitEvent('disconnected', `phone clock unavailable: ${(err as Error).message}`);
        });
    });
  }

  /** The phone's clock started at the first ready; what happened before now is history to fetch. */
  private becomeReady(anchorMs: number): void {
    if (this.state !== 'authenticated') return;
    const o = this.options;
    this.phone = new SimulatedLive(this.account, o.seed, anchorMs, { intervalMs: o.liveIntervalMs, editEvery: o.editEvery, revokeEvery: o.revokeEvery, reactEvery: o.reactEvery });
    this.emittedTo = Date.now();
    this.state = 'ready';
    this.emitEvent('ready');
    if (this.phone.enabled) this.liveTimer = setInterval(() => this.liveTick(), Math.max(1, o.liveIntervalMs));
  }

  /**
   * A deterministic code per (seed, session, phone), in WhatsApp's shape (8 characters); the
   * phone "types" it and the client links SIM_AUTO_SCAN_MS later, as a QR scan would.
   */
  async requestPairingCode(phoneNumber: string): Promise<string> {
    if (this.state !== 'qr') throw new NotLinkingError(`client ${this.sessionId} is not waiting for a link (${this.state})`);
    const r = mulberry32(hashSeed(this.options.seed, hashString(this.sessionId), hashString(phoneNumber), 0xc0de));
    const alphabet = 'ABCDEFGHJKLMNPQRSTVWXYZ123456789';
    const code = Array.from({ length: 8 }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
    if (this.options.autoScanMs <= MAX_TIMER_MS) this.later(this.options.autoScanMs, () => this.scanNow());
    return code;
  }

  /** Final: later calls reject. A logout also reports `disconnected` with reason LOGOUT. */
  async stop({ logout }: { logout: boolean }): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.liveTimer);
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.reject(this.stoppedError());
    }
    this.sleepers.clear();
    if (this.trackerField) await this.options.tracker?.down(this.sessionId, this.trackerField).catch(() => undefined);
    if (logout) {
      await this.options.auth?.remove(this.sessionId);
      this.emitEvent('disconnected', 'LOGOUT');
    }
  }

  async getChats(): Promise<ChatInput[]> {
    const phone = this.assertReady();
    const now = Date.now();
    return this.account.listChats(phone.anchorMs).map((chat, i) => {
      const live = phone.lastArrivalMs(i, now);
      return live === null ? chat : { ...chat, lastMessageAt: new Date(live).toISOString() };
    });
  }

  async getContacts(): Promise<Contact[]> {
    this.assertReady();
    return this.account.contacts();
  }

  async fetchMessages(chatId: string, { limit, reactionState }: FetchOptions): Promise<Message[]> {
    const phone = this.assertReady();
    if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`limit must be a finite number >= 0, got ${limit}`);
    if (!this.account.hasChat(chatId)) throw new Error(`unknown chat ${chatId} in session ${this.sessionId}`);
    // Drawn at call time, so outcomes follow the order of calls, not of timers.
    const fails = this.failRng() < this.options.failRate;
    await this.sleep(this.options.fetchLatencyMs);
    if (this.failChatIds.has(chatId)) {
      throw new Error(`simulated permanent failure fetching ${chatId} (listed in failChatIds)`);
    }
    if (fails) {
      throw new Error(`simulated transient failure fetching ${chatId} (failRate ${this.options.failRate}); retry may succeed`);
    }
    const n = Math.floor(limit);
    // What the phone holds at the end of the call, as WhatsApp Web would answer.
    const now = Date.now();
    const live = phone.latestKs(chatId, now, n).map((k) => phone.messageAt(k, now));
    const result = this.account.latestMessages(chatId, n - live.length, phone.anchorMs);
    for (const m of live) result.push(m);
    if (reactionState) for (const m of result) m.reactions ??= [];
    this.onFetch?.(this.sessionId, chatId, result.length);
    return result;
  }

  /** The file is made from the seed and the message (simulated.media.ts), after a fetch's latency. */
  async downloadMedia(chatId: string, messageId: string, hint: MediaHint): Promise<MediaDownload> {
    this.assertReady();
    if (!this.account.hasChat(chatId)) throw new Error(`unknown chat ${chatId} in session ${this.sessionId}`);
    await this.sleep(this.options.fetchLatencyMs);
    if (simulatedMediaExpired(this.options.seed, messageId, this.options.mediaExpiredRate, hint.live)) return { status: 'expired' };
    const file = simulatedMediaFile(this.options.seed, messageId, hint.mimetype, hint.size);
    return { status: 'ok', data: file.data, mimetype: file.mimetype, filename: null };
  }

  override on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    return super.off(event, listener);
  }

  private emitEvent<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    this.emit(event, ...args);
  }

  private showQr(): void {
    if (this.state !== 'qr') return;
    this.emitEvent('qr', this.qrCode(this.qrCount++));
    if (this.options.qrRefreshMs <= MAX_TIMER_MS) this.later(this.options.qrRefreshMs, () => this.showQr());
  }

  /** Shaped like WhatsApp Web's `2@ref,noiseKey,identityKey,advSecret`; deterministic per session. */
  private qrCode(n: number): string {
    const r = mulberry32(hashSeed(this.options.seed, hashString(this.sessionId), n, 0x9c));
    const b64 = (len: number) => Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256))).toString('base64');
    return `2@${b64(36)},${b64(32)},${b64(32)},${b64(32)}`;
  }

  /** Emits what happened on the phone since the last tick, as WhatsApp Web's events would. */
  private liveTick(): void {
    if (this.state !== 'ready' || !this.phone) return;
    const now = Date.now();
    const events = this.phone.eventsBetween(this.emittedTo, now);
    this.emittedTo = now;
    for (const e of events) {
      if (this.state !== 'ready') return;
      if (e.type === 'message') this.emitEvent('message', e.message);
      else if (e.type === 'ack') this.emitEvent('message_ack', { chatId: e.chatId, id: e.id, ack: e.ack });
      else if (e.type === 'edit') this.emitEvent('message_edit', { chatId: e.chatId, id: e.id, body: e.body, editedAt: e.editedAt });
      else if (e.type === 'revoke') this.emitEvent('message_revoke_everyone', { chatId: e.chatId, id: e.id });
      else this.emitEvent('message_reaction', { chatId: e.chatId, id: e.id, senderId: e.senderId, emoji: e.emoji, timestamp: e.timestamp });
    }
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** A delay that stop() cuts short with a rejection. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        reject,
      };
      this.sleepers.add(sleeper);
    });
  }

  private stoppedError(): Error {
    return new Error(`client ${this.sessionId} is stopped`);
  }

  private assertNotStopped(): void {
    if (this.state === 'stopped') throw this.stoppedError();
  }

  private assertReady(): SimulatedLive {
    this.assertNotStopped();
    if (this.state !== 'ready' || !this.phone) throw new Error(`client ${this.sessionId} is not ready`);
    return this.phone;
  }
}
