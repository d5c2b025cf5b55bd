import type { SseClient } from './sse.hub';

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
    const res = this.client.res;
    if (res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}
