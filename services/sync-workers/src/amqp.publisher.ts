import { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel, connect } from 'amqplib';
import type { DeliveryEvent } from '@wa-sync/shared/contracts';
import { type BrokerState, type Logger, withTimeout } from '@wa-sync/shared/runtime';

export interface AmqpPublisherOptions {
  url: string;
  queue: string;
  logger: Logger;
  /** A publish not confirmed by the broker after this long fails (and is retried by its job). */
  confirmTimeoutMs?: number;
  /** Every state change: the process reports it for /readyz and /metrics. */
  onState?: (state: BrokerState, error?: string) => void;
}

/**
 * One RabbitMQ connection per process, reconnecting by itself (amqplib's recovery) after the
 * broker goes away, and a confirm channel on it: `publish` resolves only once the broker has
 * taken the message (persistent, into the durable queue). While the broker is unreachable,
 * `publish` fails at once, so the delivery job is retried later instead of holding a worker.
 */
export class AmqpPublisher {
  private connection: RecoveringChannelModel | null = null;
  private model: ChannelModel | null = null;
  private channel: Promise<ConfirmChannel> | null = null;
  private stateValue: BrokerState = 'connecting';
  private lastError: string | undefined;

  constructor(private readonly options: AmqpPublisherOptions) {}

  get state(): BrokerState {
    return this.stateValue;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** Starts connecting (and reconnecting forever); resolves at once, connected or not. */
  async start(): Promise<void> {
    const { logger } = this.options;
    const connection = await connect(this.options.url, {
      timeout: 5_000,
      recovery: { waitForConnect: false, initialDelay: 200, maxDelay: 5_000, jitter: 0.2, maxRetries: Infinity },
    });
    this.connection = connection;
    connection.on('connect', (model: ChannelModel) => {
      this.model = model;
      this.setState('up');
      logger.info({ broker: withoutPassword(this.options.url), queue: this.options.queue }, 'RabbitMQ connected');
    });
    connection.on('disconnect', (err: Error) => {
      this.model = null;
      this.channel = null;
      this.setState('down', err.message);
      logger.warn({ err: err.message }, 'RabbitMQ connection lost: reconnecting (deliveries wait and retry)');
    });
    connection.on('connect-failed', (err: Error) => {
      if (this.stateValue !== 'down') logger.warn({ err: err.message }, 'RabbitMQ unreachable: retrying');
      this.setState('down', err.message);
    });
    connection.on('error', (err: Error) => logger.debug({ err: err.message }, 'RabbitMQ connection error'));
  }

  /** Publishes one event as `{ pattern, data }` (NestJS RMQ transport), confirmed by the broker. */
  async publish(event: DeliveryEvent): Promise<void> {
    const channel = await this.openChannel();
    const body = Buffer.from(JSON.stringify({ pattern: event.event, data: event.data }));
    const confirmed = new Promise<void>((resolve, reject) => {
      channel.sendToQueue(
        this.options.queue,
        body,
        {
          persistent: true,
          messageId: event.eventId,
          contentType: 'application/json',
          type: event.event,
          appId: 'wa-sync',
          timestamp: Math.floor(Date.parse(event.timestamp) / 1000),
          headers: { 'x-wa-sync-session-id': event.sessionId, 'x-wa-sync-event-id': event.eventId },
        },
        (err) => (err ? reject(err instanceof Error ? err : new Error(`broker refused the message: ${String(err)}`)) : resolve()),
      );
    });
    const timeoutMs = this.options.confirmTimeoutMs ?? 10_000;
    await withTimeout(confirmed, timeoutMs, `no confirm from RabbitMQ after ${timeoutMs} ms`);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    this.channel = null;
    this.model = null;
    await connection?.close().catch(() => undefined);
  }

  /** The confirm channel, opened (and the queue declared) once per connection. */
  private openChannel(): Promise<ConfirmChannel> {
    const model = this.model;
    if (!model) return Promise.reject(new Error(`RabbitMQ is unreachable (${this.lastError ?? this.stateValue})`));
    this.channel ??= (async () => {
      const channel = await model.createConfirmChannel();
      // A channel error (e.g. the queue was declared with other arguments) closes only the channel:
      // the next publish opens a new one.
      channel.on('error', (err: Error) => this.options.logger.warn({ err: err.message }, 'RabbitMQ channel error'));
      channel.on('close', () => {
        if (this.model === model) this.channel = null;
      });
      await channel.assertQueue(this.options.queue, { durable: true });
      return channel;
    })().catch((err: Error) => {
      this.channel = null;
      throw err;
    });
    return this.channel;
  }

  private setState(state: BrokerState, error?: string): void {
    const changed = state !== this.stateValue || error !== this.lastError;
    this.stateValue = state;
    this.lastError = state === 'up' ? undefined : error;
    if (changed) this.options.onState?.(state, this.lastError);
  }
}

/** The broker URL for logs: its password left out. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'amqp://(unparsable url)';
  }
}
