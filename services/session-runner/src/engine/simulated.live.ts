import type { Message, Reaction } from '@wa-sync/shared/contracts';
import { type SimulatedAccount, hashSeed, mulberry32 } from './simulated.account';
import { reactorOf } from './simulated.extras';
import { EMOJIS } from './simulated.words';

/**
 * The simulated phone's live traffic as a pure function of the seed and the clock: live message
 * k (k = 1, 2, …) arrives at `anchor + k·interval` in a chat chosen by k, whether or not a runner
 * is connected. What the phone shows at any instant (acks, edits, deletes) follows from the same
 * numbers, so a runner that comes back after a pause finds exactly what a real phone would hold.
 */

export interface SimulatedLiveOptions {
  /** SIM_LIVE_INTERVAL_MS; 0 turns live traffic off. */
  intervalMs: number;
  /** SIM_EDIT_EVERY: every n-th live message is edited later; 0: never. */
  editEvery: number;
  /** SIM_REVOKE_EVERY: every n-th live message is deleted for everyone later; 0: never. */
  revokeEvery: number;
  /** SIM_REACT_EVERY: every n-th live message gets a reaction later, every second one removed after; 0: never. */
  reactEvery?: number;
}

/** Own messages: delivered (2) and read (3) this many intervals after they were sent. */
export const ACK_DELIVERED_AFTER = 2;
export const ACK_READ_AFTER = 4;
/** An edit comes this many intervals after its message, a delete for everyone after this many. */
export const EDIT_AFTER = 3;
export const REVOKE_AFTER = 6;
/** A reaction comes this many intervals after its message; a removed one goes this many after. */
export const REACT_AFTER = 2;
export const UNREACT_AFTER = 5;

export type LiveEvent =
  | { type: 'message'; message: Message }
  | { type: 'ack'; chatId: string; id: string; ack: number }
  | { type: 'edit'; chatId: string; id: string; body: string; editedAt: string }
  | { type: 'revoke'; chatId: string; id: string }
  | { type: 'reaction'; chatId: string; id: string; senderId: string; emoji: string; timestamp: string };

export class SimulatedLive {
  /** Live message ks per chat index, ascending; filled up to `indexed` on demand. */
  private readonly byChat = new Map<number, number[]>();
  private indexed = 0;

  constructor(
    private readonly account: SimulatedAccount,
    private readonly seed: number,
    /** The session's first `ready` (epoch ms): the phone's clock starts there. */
    readonly anchorMs: number,
    private readonly options: SimulatedLiveOptions,
  ) {}

  get enabled(): boolean {
    return this.options.intervalMs > 0 && this.account.chatIds.length > 0;
  }

  /** Live messages that have arrived by `nowMs`. */
  count(nowMs: number): number {
    if (!this.enabled) return 0;
    return Math.max(0, Math.floor((nowMs - this.anchorMs) / this.options.intervalMs));
  }

  arrivalMs(k: number): number {
    return this.anchorMs + k * this.options.intervalMs;
  }

  /** The chat of live message k: recent chats (top of the list) get most of the traffic. */
  chatIndexOf(k: number): number {
    const r = mulberry32(hashSeed(this.seed, k, 0x11fe));
    return Math.floor(r() * r() * this.account.chatIds.length);
  }

  chatOf(k: number): string {
    return this.account.chatIds[this.chatIndexOf(k)];
  }

  /** Live message k as the phone shows it at `nowMs`: ack risen, edited, deleted. */
  messageAt(k: number, nowMs: number): Message {
    const arrival = this.arrivalMs(k);
    const m = this.account.liveMessage(this.chatOf(k), k, arrival);
    const n = this.options.intervalMs;
    if (m.fromMe) m.ack = nowMs >= arrival + ACK_READ_AFTER * n ? 3 : nowMs >= arrival + ACK_DELIVERED_AFTER * n ? 2 : 1;
    if (this.isEdited(k) && nowMs >= arrival + EDIT_AFTER * n) {
      m.body = editedBody(k);
      m.editedAt = new Date(arrival + EDIT_AFTER * n).toISOString();
    }
    if (this.isRevoked(k) && nowMs >= arrival + REVOKE_AFTER * n) {
      m.body = '';
      m.revoked = true;
    }
    if (this.isReacted(k) && nowMs >= arrival + REACT_AFTER * n) {
      const gone = this.isUnreacted(k) && nowMs >= arrival + UNREACT_AFTER * n;
      m.reactions = gone ? [] : [this.reactionTo(m, k)];
    }
    return m;
  }

  /** The reaction live message k gets (SIM_REACT_EVERY): its sender, emoji and time are functions of k. */
  private reactionTo(m: Message, k: number): Reaction {
    const x = mulberry32(hashSeed(this.seed, k, 0x7eac))();
    return {
      emoji: EMOJIS[k % EMOJIS.length],
      senderId: reactorOf(m, this.account.extrasChat(m.chatId), x),
      timestamp: new Date(this.arrivalMs(k) + REACT_AFTER * this.options.intervalMs).toISOString(),
    };
  }

  /** Ks of the chat's newest `limit` live messages arrived by `nowMs`, oldest first. */
  latestKs(chatId: string, nowMs: number, limit: number): number[] {
    const upTo = this.count(nowMs);
    if (upTo === 0 || limit <= 0) return [];
    this.indexTo(upTo);
    const list = this.byChat.get(this.account.chatIds.indexOf(chatId)) ?? [];
    const end = upperBound(list, upTo);
    return list.slice(Math.max(0, end - limit), end);
  }

  /** Time of the chat's newest live message by `nowMs`; null when none arrived yet. */
  lastArrivalMs(chatIndex: number, nowMs: number): number | null {
    const upTo = this.count(nowMs);
    if (upTo === 0) return null;
    this.indexTo(upTo);
    const list = this.byChat.get(chatIndex) ?? [];
    const end = upperBound(list, upTo);
    return end === 0 ? null : this.arrivalMs(list[end - 1]);
  }

  /** Everything that happens on the phone in (fromMs, toMs], in order of kind then k. */
  eventsBetween(fromMs: number, toMs: number): LiveEvent[] {
    if (!this.enabled || toMs <= fromMs) return [];
    const n = this.options.intervalMs;
    const ks = (delay: number) => range(this.count(fromMs - delay * n) + 1, this.count(toMs - delay * n));
    const events: LiveEvent[] = [];
    for (const k of ks(0)) events.push({ type: 'message', message: this.messageAt(k, this.arrivalMs(k)) });
    for (const [delay, ack] of [[ACK_DELIVERED_AFTER, 2], [ACK_READ_AFTER, 3]] as const) {
      for (const k of ks(delay)) {
        const m = this.account.liveMessage(this.chatOf(k), k, this.arrivalMs(k));
        if (m.fromMe) events.push({ type: 'ack', chatId: m.chatId, id: m.id, ack });
      }
    }
    for (const k of ks(EDIT_AFTER)) {
      if (!this.isEdited(k)) continue;
      const m = this.account.liveMessage(this.chatOf(k), k, this.arrivalMs(k));
      events.push({ type: 'edit', chatId: m.chatId, id: m.id, body: editedBody(k), editedAt: new Date(this.arrivalMs(k) + EDIT_AFTER * n).toISOString() });
    }
    for (const k of ks(REVOKE_AFTER)) {
      if (!this.isRevoked(k)) continue;
      const m = this.account.liveMessage(this.chatOf(k), k, this.arrivalMs(k));
      events.push({ type: 'revoke', chatId: m.chatId, id: m.id });
    }
    for (const [delay, removed] of [[REACT_AFTER, false], [UNREACT_AFTER, true]] as const) {
      for (const k of ks(delay)) {
        if (!this.isReacted(k) || (removed && !this.isUnreacted(k))) continue;
        const m = this.account.liveMessage(this.chatOf(k), k, this.arrivalMs(k));
        const r = this.reactionTo(m, k);
        const timestamp = removed ? new Date(this.arrivalMs(k) + UNREACT_AFTER * n).toISOString() : r.timestamp;
        events.push({ type: 'reaction', chatId: m.chatId, id: m.id, senderId: r.senderId, emoji: removed ? '' : r.emoji, timestamp });
      }
    }
    return events;
  }

  private isReacted(k: number): boolean {
    const every = this.options.reactEvery ?? 0;
    return every > 0 && k % every === 0;
  }

  /** Every second reacted message loses its reaction later. */
  private isUnreacted(k: number): boolean {
    return this.isReacted(k) && (k / (this.options.reactEvery ?? 1)) % 2 === 0;
  }

  private isEdited(k: number): boolean {
    return this.options.editEvery > 0 && k % this.options.editEvery === 0;
  }

  private isRevoked(k: number): boolean {
    return this.options.revokeEvery > 0 && k % this.options.revokeEvery === 0;
  }

  private indexTo(upTo: number): void {
    for (let k = this.indexed + 1; k <= upTo; k++) {
      const i = this.chatIndexOf(k);
      let list = this.byChat.get(i);
      if (!list) this.byChat.set(i, (list = []));
      list.push(k);
    }
    this.indexed = Math.max(this.indexed, upTo);
  }
}

export function editedBody(k: number): string {
  return `live #${k} (edited)`;
}

/** The k of a simulated live message id (its key ends in k as 8 hex digits); for tests and tools. */
export function liveMessageK(id: string): number {
  return parseInt(id.split('_')[2].slice(-8), 16);
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let k = Math.max(1, from); k <= to; k++) out.push(k);
  return out;
}

/** First index whose value is > x in an ascending list. */
function upperBound(list: number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
