import { EventEmitter } from 'node:events';
import type { ChatInput, Message } from '@wa-sync/shared';
import { type ClientEvents, type FetchOptions, NotLinkingError, type WhatsAppClient, type WhatsAppEngine } from './engine';
import { SimulatedAccount, hashSeed, hashString, mulberry32, type Rng } from './simulated.account';

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
  /** After ready, a new message every this many ms; 0 (default) turns live mode off. */
  liveIntervalMs?: number;
  /** A new QR while not scanned, like WhatsApp Web. */
  qrRefreshMs?: number;
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
  qrRefreshMs: 20_000,
};

/** authenticated → ready: WhatsApp Web loads chats in between. */
const READY_DELAY_MS = 100;
/** setTimeout fires at once beyond this; a longer autoScanMs means "never". */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SimulatedEngine implements WhatsAppEngine {
  readonly name = 'simulated' as const;
  readonly options: Required<SimulatedEngineOptions>;
  private shared?: SimulatedAccount;

  constructor(options: Partial<SimulatedEngineOptions> = {}) {
    // An explicit `undefined` (e.g. an unset env value) keeps the default.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const o: Required<SimulatedEngineOptions> = { ...SIMULATED_DEFAULTS, ...given };
    for (const key of ['chats', 'messagesPerChat'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 0) throw new RangeError(`${key} must be an integer >= 0`);
    }
    if (!(o.failRate >= 0 && o.failRate <= 1)) throw new RangeError('failRate must be within [0, 1]');
    for (const key of ['fetchLatencyMs', 'autoScanMs', 'liveIntervalMs', 'qrRefreshMs'] as const) {
      if (!(o[key] >= 0)) throw new RangeError(`${key} must be >= 0`);
    }
    if (!(o.qrRefreshMs > 0)) throw new RangeError('qrRefreshMs must be > 0');
    this.options = o;
  }

  /** Built on first use and shared by all clients: only the chat list, messages are made on demand. */
  get account(): SimulatedAccount {
    this.shared ??= new SimulatedAccount(this.options);
    return this.shared;
  }

  createClient(sessionId: string): SimulatedClient {
    return new SimulatedClient(sessionId, this.account, this.options);
  }

  /** The simulated phone keeps nothing on disk: restore falls back to the stored status. */
  async hasAuth(): Promise<boolean> {
    return false;
  }

  async removeAuth(): Promise<void> {}
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
  private qrCount = 0;
  /**
   * Transient failures: a PRNG seeded by (seed, sessionId) and advanced by every fetch call.
   * Each call draws anew, so a retry of a failed call can succeed, and a given order of calls
   * gives the same outcomes on every run.
   */
  private readonly failRng: Rng;
  private readonly failChatIds: Set<string>;
  // Live mode: messages appended after ready, and own ones whose ack is still rising.
  private readonly liveRng: Rng;
  private liveSeq = 0;
  private readonly live = new Map<string, Message[]>();
  private readonly pendingAcks: Message[] = [];

  constructor(
    readonly sessionId: string,
    /** The account behind this client; exposed for tests (e.g. `messagesGenerated`). */
    readonly account: SimulatedAccount,
    private readonly options: Required<SimulatedEngineOptions>,
  ) {
    super();
    const base = hashSeed(options.seed, hashString(sessionId));
    this.failRng = mulberry32(hashSeed(base, 0xfa11));
    this.liveRng = mulberry32(hashSeed(base, 0x11fe));
    this.failChatIds = new Set(options.failChatIds);
  }

  /** Idempotent until stopped; lifecycle follows through events: qr → authenticated → ready. */
  async start(): Promise<void> {
    this.assertNotStopped();
    if (this.state !== 'idle') return;
    this.state = 'qr';
    this.later(0, () => this.showQr());
    if (this.options.autoScanMs <= MAX_TIMER_MS) this.later(this.options.autoScanMs, () => this.scanNow());
  }

  /** The phone scans the current QR now (for tests that keep autoScanMs at Infinity). */
  scanNow(): void {
    if (this.state !== 'qr') return;
    this.state = 'authenticated';
    this.emitEvent('authenticated');
    this.later(READY_DELAY_MS, () => {
      this.state = 'ready';
      this.emitEvent('ready');
      if (this.options.liveIntervalMs > 0) {
        this.liveTimer = setInterval(() => this.liveTick(), this.options.liveIntervalMs);
      }
    });
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
    if (logout) this.emitEvent('disconnected', 'LOGOUT');
  }

  async getChats(): Promise<ChatInput[]> {
    this.assertReady();
    return this.account.listChats().map((chat) => {
      const live = this.live.get(chat.id);
      if (!live?.length) return chat;
      return {
        ...chat,
        unreadCount: chat.unreadCount + live.filter((m) => !m.fromMe).length,
        lastMessageAt: live[live.length - 1].timestamp,
      };
    });
  }

  async fetchMessages(chatId: string, { limit }: FetchOptions): Promise<Message[]> {
    this.assertReady();
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
    const live = (this.live.get(chatId) ?? []).slice(-n).map((m) => ({ ...m }));
    return [...this.account.latestMessages(chatId, n - live.length), ...live];
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

  private liveTick(): void {
    // Receipts lag the send: first raise the oldest pending own message by one step.
    const pending = this.pendingAcks[0];
    if (pending) {
      pending.ack++;
      if (pending.ack >= 3) this.pendingAcks.shift();
      this.emitEvent('message_ack', { chatId: pending.chatId, id: pending.id, ack: pending.ack });
    }
    const ids = this.account.chatIds;
    if (ids.length === 0) return;
    const r = this.liveRng;
    const chatId = ids[Math.floor(r() * r() * ids.length)]; // favour the recent chats at the top
    const list = this.live.get(chatId) ?? [];
    const last = list.length ? list[list.length - 1].timestamp : this.account.lastMessageAt(chatId);
    const prevMs = last ? Date.parse(last) : 0;
    const message = this.account.liveMessage(chatId, r, this.liveSeq++, Math.max(Date.now(), prevMs + 1000));
    list.push(message);
    this.live.set(chatId, list);
    if (message.fromMe) this.pendingAcks.push(message);
    this.emitEvent('message', { ...message });
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

  private assertReady(): void {
    this.assertNotStopped();
    if (this.state !== 'ready') throw new Error(`client ${this.sessionId} is not ready`);
  }
}
