import type { ServerEvents } from '@wa-sync/shared/contracts';
import { Api, ApiError, type SessionRow } from './api.client';
import { byId, h, reconcile } from './dom.helpers';
import { count, when } from './format.helpers';
import { SessionDetail, type SessionState } from './session.view';
import { type Frame, LiveSocket, type SocketState } from './live.socket';
import './style.css';

/** Kept for the tab only: closing it forgets the key. */
const KEY_STORAGE = 'wa-sync.apiKey';
const LIST_REFRESH_MS = 10_000;

const keyInput = byId<HTMLInputElement>('api-key');
const sessionList = byId<HTMLUListElement>('session-list');
const sessionsEmpty = byId('sessions-empty');
const detailEl = byId('detail');
const banner = byId('banner');
const connection = byId('connection');

/**
 * A shared link (`#token=…`, or `?token=…`): a session token, not the operator key. The page then
 * shows that one session, read-only, and keeps the token in memory only (the link holds it).
 */
function sharedToken(): { token: string; sessionId: string } | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? new URLSearchParams(location.search).get('token');
  if (!token) return null;
  try {
    // The token's own claim says which session it is for (the server checks the signature).
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof payload.sub === 'string' ? { token, sessionId: payload.sub } : null;
  } catch {
    return null;
  }
}

const shared = sharedToken();
/** The shared link's token was refused: nothing more to ask the server. */
let sharedEnded = false;
let apiKey = shared ? shared.token : sessionStorage.getItem(KEY_STORAGE);
const api = new Api(() => apiKey ?? '');
const sessions = new Map<string, SessionState>();
let detail: SessionDetail | null = null;
let listTimer: number | undefined;

const socket = new LiveSocket(() => apiKey ?? '', onFrame, showConnection);

function showBanner(text: string | null, kind: 'error' | 'connection' = 'error'): void {
  if (text === null) {
    // Only clears what it owns: a reconnect does not hide an API error.
    if (banner.dataset.kind === kind) banner.hidden = true;
    return;
  }
  banner.textContent = text;
  banner.dataset.kind = kind;
  banner.hidden = false;
}

function fail(err: unknown): void {
  if (shared && err instanceof ApiError && err.status === 401) {
    sharedEnded = true;
    showBanner(`This shared link no longer works (${err.code === 'token_expired' ? 'it expired' : err.code === 'token_revoked' ? 'it was revoked' : 'invalid'}). Ask for a new one.`);
    socket.close();
    window.clearInterval(listTimer);
    return;
  }
  if (err instanceof ApiError && err.status === 401) {
    showBanner(`${err.message}. Type the API key above and press Enter.`);
    socket.close();
    window.clearInterval(listTimer);
    return;
  }
  showBanner(err instanceof Error ? err.message : String(err));
}

function showConnection(state: SocketState, attempt: number): void {
  connection.className = `pill conn-${state}`;
  connection.textContent = { connecting: 'connecting…', open: 'live', reconnecting: `reconnecting (${attempt})…`, closed: 'not connected' }[state];
  if (state === 'reconnecting') showBanner('Connection to the server lost: reconnecting… (what happens meanwhile is replayed)', 'connection');
  if (state === 'open') showBanner(null, 'connection');
  // Until each session's `joined` comes back, the list and the watch say its status again.
  else for (const s of sessions.values()) s.streamed = false;
  // A shared link's socket closed for good (its token expired or was revoked): ask once, to say why.
  if (shared && state === 'closed' && !sharedEnded) void refreshRow(shared.sessionId);
}

function stateOf(sessionId: string): SessionState | undefined {
  return sessions.get(sessionId);
}

function upsertRow(row: SessionRow): SessionState {
  let s = sessions.get(row.sessionId);
  if (!s) {
    s = { row, syncErrors: [] };
    sessions.set(row.sessionId, s);
    socket.join(row.sessionId);
  } else {
    s.row = { ...s.row, ...row, ...(s.streamed ? { status: s.row.status, statusDetail: s.row.statusDetail } : {}) };
  }
  return s;
}

async function loadSessions(): Promise<void> {
  const { sessions: rows } = await api.sessions();
  for (const row of rows) upsertRow(row);
  showBanner(null);
  renderList();
}

function renderList(): void {
  sessionsEmpty.hidden = sessions.size > 0;
  sessionsEmpty.textContent = apiKey === null ? 'Type the API key above and press Enter.' : 'No session yet: create one.';
  const rows = [...sessions.values()].sort((a, b) => a.row.sessionId.localeCompare(b.row.sessionId));
  reconcile(
    sessionList,
    rows.map(({ row, sync }) => {
      const last = row.lastSync;
      const syncText =
        sync && !sync.done
          ? `syncing ${sync.currentChat}/${sync.nChats} chats`
          : last?.finishedAt
            ? `last sync ${when(last.finishedAt)} · ${count(last.nChats)} chats · ${count(last.totalMessages)} msgs`
            : sync?.done
              ? `synced · ${count(sync.nChats)} chats · ${count(sync.totalMessagesSynced)} msgs`
              : 'never synced';
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: `row session${detail?.sessionId === row.sessionId ? ' selected' : ''}`,
            'data-testid': `session-${row.sessionId}`,
            'aria-pressed': detail?.sessionId === row.sessionId ? 'true' : 'false',
            onclick: () => select(row.sessionId),
          },
          h('span', { class: 'name' }, row.sessionId),
          h('span', { class: `pill status-${row.status}` }, row.status),
          h('span', { class: 'meta' }, row.runnerId ? `${row.runnerId} · ` : '', syncText),
        ),
      );
    }),
  );
}

function select(sessionId: string): void {
  const state = stateOf(sessionId);
  if (!state) return;
  detail?.dispose();
  detail = new SessionDetail(sessionId, state, { api, fail, changed: (id) => void refreshRow(id), ...(shared ? {} : { share: shareLink }) });
  detailEl.replaceChildren(detail.root);
  detailEl.hidden = false;
  // The progress comes with `joined` (the current or last sync): no request that could 404.
  renderList();
}

async function refreshRow(sessionId: string): Promise<void> {
  try {
    upsertRow(await api.session(sessionId));
    renderList();
    if (detail?.sessionId === sessionId) detail.render();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) fail(err);
  }
}

/** `watch-sessions`: a session created, started or stopped by any client shows at once. */
function onWatch(frame: Frame): boolean {
  switch (frame.event) {
    case 'sessions':
      for (const u of frame.data.sessions) upsertRow({ sessionId: u.sessionId, status: u.status, statusDetail: u.detail, runnerId: u.runnerId, lastSync: u.lastSync });
      break;
    case 'session:status': {
      const u = frame.data;
      const s = upsertRow({ sessionId: u.sessionId, status: u.status, statusDetail: u.detail, runnerId: u.runnerId, lastSync: u.lastSync });
      if (s.row.status !== 'qr') s.qrDataUrl = undefined;
      if (detail?.sessionId === u.sessionId) detail.render();
      break;
    }
    case 'session:removed':
      sessions.delete(frame.data.sessionId);
      break;
    case 'unwatched':
      return true;
    default:
      return false;
  }
  renderList();
  return true;
}

function onFrame(frame: Frame, rejoined: boolean): void {
  // A session token may not watch every session: the list then follows the 10 s poll.
  if (frame.event === 'error' && frame.data.code === 'forbidden' && frame.data.message.includes('watch-sessions')) return;
  if (frame.event === 'error') return showBanner(`Server: ${frame.data.message}`);
  if (frame.event === 'left' || onWatch(frame)) return;
  const s = stateOf((frame.data as { sessionId: string }).sessionId);
  if (!s) return;
  const open = detail?.sessionId === s.row.sessionId ? detail : null;
  switch (frame.event) {
    case 'joined':
      onJoined(s, frame.data);
      open?.render();
      // Back after a lost connection: unless the server replayed what was missed, reload it.
      if (rejoined && frame.data.resumed !== true) open?.reload();
      break;
    case 'status':
      s.row = { ...s.row, status: frame.data.status, statusDetail: frame.data.detail };
      if (frame.data.status !== 'qr') s.qrDataUrl = undefined;
      break;
    case 'qr':
      s.qrDataUrl = frame.data.qrDataUrl;
      s.row = { ...s.row, status: 'qr' };
      break;
    case 'sync_chats':
      if (s.sync?.syncId !== frame.data.syncId) s.syncErrors = [];
      // Progress never goes backwards on screen, even if frames cross.
      if (s.sync?.syncId === frame.data.syncId && s.sync.currentChat > frame.data.currentChat) break;
      s.sync = frame.data;
      open?.refreshChats();
      // The store closes the sync run just after the last event: read the row once it has.
      if (frame.data.done) window.setTimeout(() => void refreshRow(frame.data.sessionId), 1_000);
      break;
    case 'sync_error':
      s.syncErrors.push(frame.data.chatId ? `${frame.data.chatId}: ${frame.data.message}` : frame.data.message);
      break;
    case 'session_ready':
      void refreshRow(s.row.sessionId);
      break;
    case 'message:new':
      open?.onMessage(frame.data);
      break;
    case 'message:status':
      open?.onMessageUpdate(frame.data);
      break;
    case 'message:edit':
      open?.onMessageUpdate(frame.data);
      break;
    case 'message:revoke':
      open?.onMessageUpdate({ ...frame.data, revoked: true });
      break;
    case 'message:reaction':
    case 'message:media':
      open?.onMessageUpdate(frame.data);
      break;
    default:
      break;
  }
  open?.render();
  renderList();
}

function onJoined(s: SessionState, data: ServerEvents['joined']): void {
  s.streamed = true;
  if (data.status) s.row = { ...s.row, status: data.status };
  s.qrDataUrl = data.status === 'qr' ? data.qrDataUrl : undefined;
  if (!data.sync) s.sync ??= null;
  else if (!s.sync || s.sync.syncId !== data.sync.syncId || data.sync.currentChat >= s.sync.currentChat) s.sync = data.sync;
}

/** Mints a read+stream token for the session and returns (and copies) a link that opens only it. */
async function shareLink(sessionId: string): Promise<string> {
  const { token } = await api.mintToken(sessionId, ['read', 'stream']);
  const link = `${location.origin}/#token=${encodeURIComponent(token)}`;
  await navigator.clipboard?.writeText(link).catch(() => undefined);
  return link;
}

/** A shared link: that one session, its row refreshed now and then, live over the socket. */
function beginShared(sessionId: string): void {
  document.body.classList.add('shared');
  for (const id of ['key-form', 'create-form']) byId(id).hidden = true;
  void refreshRow(sessionId)
    .then(() => {
      if (!sessions.has(sessionId)) return;
      select(sessionId);
      socket.connect();
      listTimer = window.setInterval(() => void refreshRow(sessionId), LIST_REFRESH_MS);
    })
    .catch(fail);
}

/** A key was typed (or kept from earlier in this tab): load everything with it and go live. */
function begin(): void {
  socket.close();
  sessions.clear();
  detail?.dispose();
  detail = null;
  detailEl.hidden = true;
  renderList();
  void loadSessions()
    .then(() => {
      // Joins every listed session once open (upsertRow queued them).
      socket.connect();
      window.clearInterval(listTimer);
      listTimer = window.setInterval(() => void loadSessions().catch(fail), LIST_REFRESH_MS);
    })
    .catch(fail);
}

byId<HTMLFormElement>('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  apiKey = keyInput.value.trim();
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  showBanner(null);
  begin();
});

byId<HTMLFormElement>('create-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>('new-session');
  const id = input.value.trim();
  if (!id) return;
  void api
    .start(id)
    .then(async ({ sessionId, status }) => {
      input.value = '';
      upsertRow({ sessionId, status, statusDetail: null, lastSync: null });
      renderList();
      select(sessionId);
      await refreshRow(sessionId);
    })
    .catch(fail);
});

if (shared) {
  beginShared(shared.sessionId);
} else if (apiKey !== null) {
  keyInput.value = apiKey;
  begin();
}
