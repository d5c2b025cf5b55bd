import type { Chat, Message, SessionStatus, SyncRun } from '@wa-sync/shared/contracts';

/** A session as `GET /whatsapp-web/sessions` lists it; `runnerId` appears once runners report it. */
export interface SessionRow {
  sessionId: string;
  status: SessionStatus;
  statusDetail: string | null;
  lastSync: Omit<SyncRun, 'kind'> | null;
  runnerId?: string | null;
}

export interface Page<K extends string, T> {
  nextCursor: string | null;
  items: T[];
  key: K;
}

/** An answer other than 2xx, with the API's `{ error: { code, message } }` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BASE = '/whatsapp-web';
const seg = encodeURIComponent;

/** The REST API, every call with `Authorization: Bearer <key>` (when a key was typed). */
export class Api {
  constructor(private readonly key: () => string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const key = this.key();
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network', 'cannot reach the API (network error)');
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: the status says enough
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? `${res.status} ${res.statusText}`);
    }
    return json as T;
  }

  /** Every session, page by page (the list is paged like the others). */
  async sessions(): Promise<{ sessions: SessionRow[] }> {
    const sessions: SessionRow[] = [];
    let cursor: string | null = null;
    do {
      const query = `?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { sessions: SessionRow[]; nextCursor: string | null } = await this.call('GET', `${BASE}/sessions${query}`);
      sessions.push(...page.sessions);
      cursor = page.nextCursor;
    } while (cursor);
    return { sessions };
  }

  session(id: string): Promise<SessionRow> {
    return this.call('GET', `${BASE}/session/${seg(id)}`);
  }

  start(id: string): Promise<{ sessionId: string; status: SessionStatus }> {
    return this.call('POST', `${BASE}/session/${seg(id)}`);
  }

  stop(id: string, logout: boolean): Promise<unknown> {
    return this.call('DELETE', `${BASE}/session/${seg(id)}${logout ? '?logout=true' : ''}`);
  }

  resync(id: string): Promise<{ syncId: string; coalesced?: boolean }> {
    return this.call('POST', `${BASE}/session/${seg(id)}/sync-chats`, {});
  }

  chats(id: string, cursor: string | null, limit = 100): Promise<{ chats: Chat[]; nextCursor: string | null }> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.call('GET', `${BASE}/session/${seg(id)}/chats?${q}`);
  }

  messages(id: string, chatId: string, before: string | null, limit = 30): Promise<{ messages: Message[]; nextCursor: string | null }> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before) q.set('before', before);
    return this.call('GET', `${BASE}/session/${seg(id)}/chats/${seg(chatId)}/messages?${q}`);
  }

  /** A session token (operator only): what a "share this session" link carries. */
  mintToken(id: string, scopes: string[]): Promise<{ token: string; expiresAt: string }> {
    return this.call('POST', `${BASE}/session/${seg(id)}/tokens`, { scopes });
  }

  /** A stored file's bytes (`GET …/messages/:messageId/media`), with the key like every call. */
  async media(id: string, chatId: string, messageId: string): Promise<Blob> {
    const key = this.key();
    const res = await fetch(`${BASE}/session/${seg(id)}/chats/${seg(chatId)}/messages/${seg(messageId)}/media`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `media ${messageId}: ${res.status}`);
    return res.blob();
  }

  pairingCode(id: string, phoneNumber: string): Promise<{ code: string }> {
    return this.call('POST', `${BASE}/session/${seg(id)}/pairing-code`, { phoneNumber });
  }
}
