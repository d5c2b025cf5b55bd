import { once } from 'node:events';
import type { SseClient } from './sse-hub';

const BATCH_BYTES = 64 * 1024;

/**
 * Writes a long run of events to one stream (the bootstrap, a replay) in batches, waiting for
 * the socket to drain: a slow reader slows its own bootstrap down instead of growing memory.
 */
export class SseWriter {
  private batch = '';

  constructor(private readonly client: SseClient) {}

  get closed(): boolean {
    return this.client.closed || this.client.res.destroyed;
  }

  async push(chunk: string): Promise<void> {
    this.batch += chunk;
    if (this.batch.length >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.batch) return;
    const chunk = this.batch;
    this.batch = '';
    if (this.closed) return;
    if (!this.client.res.write(chunk)) {
      await Promise.race([once(this.client.res, 'drain'), once(this.client.res, 'close')]);
    }
  }
}
