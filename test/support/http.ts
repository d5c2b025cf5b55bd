import type { Message } from '@wa-sync/shared/contracts';

/** A JSON request to a running API, as a client sends it: `{ status, json }` of the answer. */
export async function httpJson(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    // A string goes as it is: the tests send malformed JSON on purpose.
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Every message of a session as a client reads them: each chat (up to 500), up to 500 messages each. */
export async function sessionMessages(base: string, sessionId: string): Promise<Message[]> {
  const chats = (await httpJson(base, 'GET', `/whatsapp-web/session/${sessionId}/chats?limit=500`)).json.chats as { id: string }[];
  const out: Message[] = [];
  for (const c of chats) out.push(...(await httpJson(base, 'GET', `/whatsapp-web/session/${sessionId}/chats/${encodeURIComponent(c.id)}/messages?limit=500`)).json.messages);
  return out;
}
