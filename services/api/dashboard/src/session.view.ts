import type { Chat, Message, SyncSnapshot } from '@wa-sync/shared/contracts';
import { type Api, ApiError, type SessionRow } from './api.client';
import { h, reconcile } from './dom.helpers';
import { count, when } from './format.helpers';
import { MediaFiles } from './media.files';
import { messageItem } from './message.view';

/** What the dashboard knows of one session: its row, and what the socket told it since. */
export interface SessionState {
  row: SessionRow;
  qrDataUrl?: string;
  /**
   * The session's own stream is live (joined on an open socket): its status and QR then come
   * from there only, in log order; a list read or a watch frame may be older than what it said.
   */
  streamed?: boolean;
  sync?: SyncSnapshot | null;
  /** `sync_error` messages of the current sync. */
  syncErrors: string[];
}

export interface DetailHooks {
  api: Api;
  /** Shows an error in the banner. */
  fail(err: unknown): void;
  /** The session was started, stopped…: refresh its row. */
  changed(sessionId: string): void;
  /** Operators: a link that opens the dashboard on this session only; absent in a shared view (no actions then). */
  share?(sessionId: string): Promise<string>;
}

const CHAT_PAGE = 100;
const MESSAGE_PAGE = 30;
const REFRESH_MS = 800;

/**
 * The open session: status and actions, the QR (or a pairing code) while linking, the sync's
 * progress, its chats, and one chat's messages with live ones appended.
 */
export class SessionDetail {
  readonly root: HTMLElement;
  private readonly statusEl = h('span', { class: 'pill' });
  private readonly runnerEl = h('span', { class: 'muted small' });
  private readonly detailEl = h('p', { class: 'muted small status-detail' });
  private readonly linkBox = h('div', { class: 'link-box', hidden: true });
  private readonly qrBox = h('div', { class: 'qr-box' });
  private readonly pairingOut = h('output', { class: 'pairing-code', 'aria-live': 'polite' });
  private readonly bar = h('div', { class: 'bar-fill' });
  private readonly progress = h('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Sync progress', 'aria-valuemin': 0, 'aria-valuenow': 0, 'aria-valuemax': 0 }, this.bar);
  private readonly progressText = h('p', { class: 'small progress-text' });
  private readonly errorsEl = h('ul', { class: 'sync-errors small' });
  private readonly chatList = h('ul', { class: 'list chats', 'aria-label': 'Chats' });
  private readonly chatsTitle = h('h3', {}, 'Chats');
  private readonly moreChats = h('button', { type: 'button', class: 'link', hidden: true }, 'More chats');
  private readonly messagesTitle = h('h3', {}, 'Messages');
  private readonly olderBtn = h('button', { type: 'button', class: 'link', hidden: true }, 'Older messages');
  private readonly messageList = h('ol', { class: 'messages', 'aria-label': 'Messages' });
  private readonly messagesPane = h('div', { class: 'pane messages-pane', hidden: true }, this.messagesTitle, this.olderBtn, this.messageList);

  private readonly buttons: Record<string, HTMLButtonElement> = {};
  private chats: Chat[] = [];
  private chatsCursor: string | null = null;
  private openChat: string | null = null;
  /** Oldest first, as a chat app shows them. */
  private messages: Message[] = [];
  /** The files shown, fetched once each with the key. */
  private readonly files: MediaFiles;
  private messagesCursor: string | null = null;
  private refreshTimer?: number;
  private refreshing = false;

  constructor(
    readonly sessionId: string,
    private readonly state: SessionState,
    private readonly hooks: DetailHooks,
  ) {
    this.files = new MediaFiles((m) => hooks.api.media(sessionId, m.chatId, m.id));
    const act = (label: string, run: () => Promise<unknown>, cls = '') => {
      const button = h('button', { type: 'button', class: cls, onclick: () => void run().then(() => hooks.changed(sessionId), hooks.fail) }, label);
      this.buttons[label] = button;
      return button;
    };
    const pairingForm = h(
      'form',
      { class: 'row-form', onsubmit: (e: Event) => (e.preventDefault(), void this.pair(pairingForm)) },
      h('label', { for: 'pair-phone', class: 'sr-only' }, 'Phone number'),
      h('input', { id: 'pair-phone', name: 'phone', inputmode: 'tel', placeholder: 'phone, e.g. 12025550108', required: true }),
      h('button', { type: 'submit' }, 'Link by code'),
    );
    this.linkBox.append(this.qrBox, h('div', { class: 'pairing' }, h('p', { class: 'small muted' }, 'Or link with a code (WhatsApp → Linked devices → Link with phone number):'), pairingForm, this.pairingOut));
    const shareOut = h('input', { class: 'share-link', 'data-testid': 'share-link', readonly: true, hidden: true, 'aria-label': 'Share link' }) as HTMLInputElement;
    const share = hooks.share;
    const shareBtn = h(
      'button',
      {
        type: 'button',
        'data-testid': 'share-session',
        title: 'Copy a link that shows only this session (read and live events, 1 hour); it never contains the API key',
        onclick: () =>
          void share?.(sessionId).then((link) => {
            shareOut.value = link;
            shareOut.hidden = false;
            shareOut.select();
          }, hooks.fail),
      },
      'Share this session',
    );
    this.moreChats.addEventListener('click', () => void this.loadChats(true).catch(hooks.fail));
    this.olderBtn.addEventListener('click', () => void this.loadMessages(true).catch(hooks.fail));

    this.root = h(
      'div',
      { class: 'session-detail', 'data-session': sessionId },
      h('div', { class: 'detail-head' }, h('h2', {}, sessionId), this.statusEl, this.runnerEl),
      this.detailEl,
      h(
        'div',
        // A shared view (a session token) only reads and follows the session.
        { class: 'actions', hidden: !share },
        act('Start', () => hooks.api.start(sessionId)),
        act('Stop', () => hooks.api.stop(sessionId, false)),
        act('Log out', async () => (confirm(`Log ${sessionId} out and forget its link?`) ? hooks.api.stop(sessionId, true) : undefined), 'danger'),
        act('Re-sync', () => hooks.api.resync(sessionId)),
        shareBtn,
      ),
      h('div', { class: 'share-box' }, shareOut),
      this.linkBox,
      h('div', { class: 'progress-box' }, this.progress, this.progressText, this.errorsEl),
      h('div', { class: 'browse' }, h('div', { class: 'pane chats-pane' }, this.chatsTitle, this.chatList, this.moreChats), this.messagesPane),
    );
    this.render();
    void this.loadChats(false).catch(hooks.fail);
  }

  /** Status, runner, QR and progress from the state; cheap, called on every event. */
  render(): void {
    const { row, sync, qrDataUrl } = this.state;
    this.statusEl.textContent = row.status;
    this.statusEl.className = `pill status-${row.status}`;
    this.runnerEl.textContent = row.runnerId ? `runner ${row.runnerId}` : '';
    this.detailEl.textContent = row.statusDetail ?? '';
    // Only what makes sense now: start a session that is not running, re-sync a ready one.
    const running = ['starting', 'qr', 'authenticated', 'ready'].includes(row.status);
    this.buttons.Start.disabled = running;
    this.buttons.Stop.disabled = !running;
    this.buttons['Re-sync'].disabled = row.status !== 'ready';
    this.renderLink(row.status === 'qr' ? qrDataUrl : undefined);
    this.renderProgress(sync ?? null);
  }

  private renderLink(qrDataUrl: string | undefined): void {
    this.linkBox.hidden = this.state.row.status !== 'qr';
    const img = this.qrBox.querySelector('img');
    if (!qrDataUrl) {
      this.qrBox.replaceChildren(h('p', { class: 'muted small' }, this.linkBox.hidden ? '' : 'Waiting for the QR…'));
      return;
    }
    if (img && img.getAttribute('src') === qrDataUrl) return;
    this.qrBox.replaceChildren(
      h('img', { src: qrDataUrl, alt: `QR code to link session ${this.sessionId}`, width: 240, height: 240 }),
      h('p', { class: 'small muted' }, 'Scan with WhatsApp → Linked devices.'),
    );
  }

  private renderProgress(sync: SyncSnapshot | null): void {
    const now = sync?.currentChat ?? 0;
    const max = sync?.nChats ?? 0;
    this.progress.setAttribute('aria-valuenow', String(now));
    this.progress.setAttribute('aria-valuemax', String(max));
    this.progress.setAttribute('aria-valuetext', `${now} of ${max} chats`);
    // CSSOM, not a style attribute: the CSP allows no inline styles.
    this.bar.style.width = `${max ? Math.round((100 * now) / max) : sync?.done ? 100 : 0}%`;
    this.progress.classList.toggle('done', Boolean(sync?.done));
    if (!sync) {
      this.progressText.textContent = 'No sync yet: it starts when the phone is linked.';
    } else {
      const state = sync.done ? `${sync.kind === 'catch-up' ? 'catch-up' : 'sync'} done` : `${sync.kind === 'catch-up' ? 'catching up' : 'synchronizing'}…`;
      this.progressText.textContent = `${state} ${count(now)} / ${count(max)} chats · ${count(sync.totalMessagesSynced)} messages synced · ${count(sync.chatsFailed)} failed`;
    }
    this.errorsEl.replaceChildren(...this.state.syncErrors.slice(-10).map((m) => h('li', {}, m)));
  }

  /** Chats changed (a chat synced, a live message): reload them, at most every REFRESH_MS. */
  refreshChats(): void {
    if (this.refreshTimer !== undefined) return;
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.loadChats(false).catch(this.hooks.fail);
    }, REFRESH_MS);
  }

  /** A live message of this session: appended when its chat is open. */
  onMessage(message: Message): void {
    this.refreshChats();
    if (message.chatId !== this.openChat || this.messages.some((m) => m.id === message.id)) return;
    this.messages.push(message);
    const atBottom = this.messageList.scrollHeight - this.messageList.scrollTop - this.messageList.clientHeight < 40;
    this.messageList.append(this.messageItem(message));
    // Follows new messages unless the user scrolled up to read older ones.
    if (atBottom) this.messageList.scrollTop = this.messageList.scrollHeight;
  }

  onMessageUpdate(update: { chatId: string; id: string; ack?: number; body?: string; editedAt?: string; revoked?: boolean } & Pick<Partial<Message>, 'reactions' | 'media'>): void {
    if (update.chatId !== this.openChat) return;
    const i = this.messages.findIndex((m) => m.id === update.id);
    if (i < 0) return;
    const m = { ...this.messages[i] };
    if (update.ack !== undefined) m.ack = Math.max(m.ack, update.ack);
    if (update.body !== undefined) {
      m.body = update.body;
      m.editedAt = update.editedAt ?? new Date().toISOString();
    }
    if (update.revoked) {
      m.revoked = true;
      m.body = '';
    }
    if (update.reactions) m.reactions = update.reactions;
    if (update.media) m.media = update.media;
    this.messages[i] = m;
    this.messageList.children[i]?.replaceWith(this.messageItem(m));
  }

  /** After `joined` with `resumed: false`: the events in between are gone, reload what is shown. */
  reload(): void {
    void this.loadChats(false).catch(this.hooks.fail);
    if (this.openChat) void this.open(this.openChat).catch(this.hooks.fail);
  }

  dispose(): void {
    window.clearTimeout(this.refreshTimer);
    this.files.dispose();
  }

  private async pair(form: HTMLFormElement): Promise<void> {
    const phone = (form.elements.namedItem('phone') as HTMLInputElement).value.trim();
    this.pairingOut.textContent = 'asking WhatsApp for a code…';
    try {
      const { code } = await this.hooks.api.pairingCode(this.sessionId, phone);
      this.pairingOut.textContent = code;
    } catch (err) {
      this.pairingOut.textContent = '';
      this.hooks.fail(err);
    }
  }

  private async loadChats(more: boolean): Promise<void> {
    if (this.refreshing && !more) return;
    this.refreshing = true;
    try {
      if (more) {
        const page = await this.hooks.api.chats(this.sessionId, this.chatsCursor, CHAT_PAGE);
        this.chats = [...this.chats, ...page.chats.filter((c) => !this.chats.some((x) => x.id === c.id))];
        this.chatsCursor = page.nextCursor;
      } else {
        // As many as are shown, in one request, so a refresh never shrinks the list.
        const page = await this.hooks.api.chats(this.sessionId, null, Math.min(500, Math.max(CHAT_PAGE, this.chats.length)));
        this.chats = page.chats;
        this.chatsCursor = page.nextCursor;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return; // not created yet
      throw err;
    } finally {
      this.refreshing = false;
    }
    this.renderChats();
  }

  private renderChats(): void {
    this.chatsTitle.textContent = `Chats (${count(this.chats.length)}${this.chatsCursor ? '+' : ''})`;
    this.moreChats.hidden = !this.chatsCursor;
    reconcile(
      this.chatList,
      this.chats.map((c) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: `row chat${c.id === this.openChat ? ' selected' : ''}`,
              'data-testid': `chat-${c.id}`,
              'aria-pressed': c.id === this.openChat ? 'true' : 'false',
              onclick: () => void this.open(c.id).catch(this.hooks.fail),
            },
            h('span', { class: 'name' }, c.isGroup ? '👥 ' : '', c.name || c.id),
            h('span', { class: 'meta' }, `${count(c.messageCount)} msgs`, c.unreadCount ? h('b', { class: 'unread' }, ` ${c.unreadCount}`) : null, ` · ${when(c.lastMessageAt)}`),
          ),
        ),
      ),
    );
    if (!this.chats.length) this.chatList.replaceChildren(h('li', { class: 'muted small' }, 'No chats stored yet.'));
  }

  private async open(chatId: string): Promise<void> {
    this.openChat = chatId;
    this.messages = [];
    this.messagesCursor = null;
    this.messageList.replaceChildren();
    const chat = this.chats.find((c) => c.id === chatId);
    this.messagesTitle.textContent = chat?.name || chatId;
    this.messagesPane.hidden = false;
    this.renderChats();
    await this.loadMessages(false);
    this.messageList.scrollTop = this.messageList.scrollHeight;
  }

  private async loadMessages(older: boolean): Promise<void> {
    const chatId = this.openChat;
    if (!chatId) return;
    const page = await this.hooks.api.messages(this.sessionId, chatId, older ? this.messagesCursor : null, MESSAGE_PAGE);
    if (chatId !== this.openChat) return;
    const known = new Set(this.messages.map((m) => m.id));
    const fresh = page.messages.filter((m) => !known.has(m.id)).reverse();
    this.messages = older ? [...fresh, ...this.messages] : [...fresh, ...this.messages.filter((m) => !fresh.some((f) => f.id === m.id))];
    this.messagesCursor = page.nextCursor;
    this.olderBtn.hidden = !page.nextCursor;
    // Older messages go on top without moving what the user is looking at.
    const fromBottom = this.messageList.scrollHeight - this.messageList.scrollTop;
    this.messageList.replaceChildren(...this.messages.map((m) => this.messageItem(m)));
    this.messageList.scrollTop = this.messageList.scrollHeight - fromBottom;
    if (!this.messages.length) this.messageList.append(h('li', { class: 'muted small' }, 'No messages stored.'));
  }

  private messageItem(m: Message): HTMLLIElement {
    const isGroup = this.chats.find((c) => c.id === m.chatId)?.isGroup ?? m.chatId.endsWith('@g.us');
    return messageItem(m, isGroup, this.files);
  }
}
