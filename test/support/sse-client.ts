import { get, type IncomingMessage } from 'node:http';
import { EventSource } from 'eventsource';
import { SESSION_EVENT_NAMES } from '@wa-sync/shared/contracts';
import { waitFor } from './wait-for';

/** Every event name the events stream sends. */
export const SSE_EVENT_NAMES = ['connected', 'sync:initial', 'message:sync', 'sync:complete', 'sync:error', ...SESSION_EVENT_NAMES];

export interface SseEvent {
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  /** EventSource's last event id when this event was dispatched. */
  lastEventId: string;
}

/**
 * A standard EventSource client (the `eventsource` package, as a browser would behave: it
 * reconnects on its own with `Last-Event-ID`) that records every named event.
 */
export class SseRecorder {
  readonly events: SseEvent[] = [];
  readonly source: EventSource;
  opens = 0;
  errors: string[] = [];

  constructor(url: string, headers?: Record<string, string>) {
    this.source = new EventSource(url, headers ? { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) } : undefined);
    this.source.addEventListener('open', () => this.opens++);
    this.source.addEventListener('error', (e) => this.errors.push(String((e as { message?: string }).message ?? 'error')));
    for (const name of SSE_EVENT_NAMES) {
      this.source.addEventListener(name, (e) => this.events.push({ event: name, data: JSON.parse(e.data), lastEventId: e.lastEventId }));
    }
  }

  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async waitFor(what: string, probe: () => unknown, timeoutMs = 30_000): Promise<void> {
    await waitFor(what, () => Boolean(probe()), timeoutMs, () => `got ${this.events.length} events: ${[...new Set(this.events.map((e) => e.event))].join(', ')}; errors: ${this.errors.join('; ')}`);
  }

  close(): void {
    this.source.close();
  }
}

/** The raw bytes of a stream, for what EventSource hides (comments, `id:` lines). */
export interface RawStream {
  res: IncomingMessage;
  text(): string;
  close(): void;
}

export function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', () => undefined);
      resolve({ res, text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** The events of a raw stream: `{ id?, event, data }` per blank-line-separated block (comments dropped). */
export function rawEvents(text: string): { id?: string; event?: string; data?: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':') && !block.startsWith('retry:'))
    .map((block) => Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)])));
}
