import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';

/** The broker tests use: a real RabbitMQ (CI's .ci/run makes sure one runs). */
export const AMQP_TEST_URL = process.env.AMQP_TEST_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** True when something accepts AMQP connections at AMQP_TEST_URL. */
export async function brokerReachable(url = AMQP_TEST_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const open = await new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || 5672) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (!open) return false;
  try {
    const conn = await connect(url);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the broker's port accepts connections, decided synchronously (Jest decides what to skip
 * while it loads the file, before any hook runs). Cached for the process.
 */
let reachableSync: boolean | undefined;
export function brokerReachableSync(url = AMQP_TEST_URL): boolean {
  if (reachableSync !== undefined) return reachableSync;
  const { hostname, port } = new URL(url);
  const probe = `const s=require('net').connect({host:${JSON.stringify(hostname)},port:${Number(port || 5672)}});s.setTimeout(1500);s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));`;
  reachableSync = spawnSync(process.execPath, ['-e', probe], { timeout: 5_000 }).status === 0;
  return reachableSync;
}

/**
 * `describe` when the broker answers, else a skipped block that says why, loudly: locally a
 * missing broker skips; CI's .ci/run starts one, so there it never skips.
 */
export function describeWithBroker(name: string, reachable: boolean, body: () => void): void {
  if (reachable) {
    describe(name, body);
    return;
  }
  if (process.env.AMQP_TEST_REQUIRED === '1') {
    // CI (.ci/run) started a broker: one that does not answer is a failure, not a skip.
    describe(name, () => {
      it('needs RabbitMQ', () => {
        throw new Error(`AMQP_TEST_REQUIRED=1 but no RabbitMQ answers at ${AMQP_TEST_URL}`);
      });
    });
    return;
  }
  process.stderr.write(`\n*** ${name}: SKIPPED, no RabbitMQ at ${AMQP_TEST_URL} (set AMQP_TEST_URL, or run .ci/run which starts one) ***\n\n`);
  describe.skip(`${name} (skipped: no RabbitMQ at ${AMQP_TEST_URL})`, () => {
    it('needs a RabbitMQ broker', () => undefined);
  });
}

export function uniqueQueueName(prefix: string): string {
  return `wa-sync-test-${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface ReceivedMessage {
  body: { pattern: string; data: any };
  messageId: string | undefined;
  persistent: boolean;
  contentType: string | undefined;
  headers: Record<string, unknown>;
  receivedAt: number;
}

/**
 * A consumer on a test queue (declared durable, as the product declares it), collecting every
 * message; `close()` deletes the queue.
 */
export class QueueConsumer {
  readonly messages: ReceivedMessage[] = [];
  private constructor(
    readonly queue: string,
    private readonly conn: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async start(queue: string, url = AMQP_TEST_URL): Promise<QueueConsumer> {
    const conn = await connect(url);
    const channel = await conn.createChannel();
    await channel.assertQueue(queue, { durable: true });
    const consumer = new QueueConsumer(queue, conn, channel);
    await channel.consume(queue, (msg: ConsumeMessage | null) => {
      if (!msg) return;
      consumer.messages.push({
        body: JSON.parse(msg.content.toString()),
        messageId: msg.properties.messageId,
        persistent: msg.properties.deliveryMode === 2,
        contentType: msg.properties.contentType,
        headers: msg.properties.headers ?? {},
        receivedAt: Date.now(),
      });
      channel.ack(msg);
    });
    return consumer;
  }

  byPattern(pattern: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.body.pattern === pattern);
  }

  async close(): Promise<void> {
    await this.channel.deleteQueue(this.queue).catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}

/** Deletes a queue the product declared (for tests that did not consume it). */
export async function deleteQueue(queue: string, url = AMQP_TEST_URL): Promise<void> {
  const conn = await connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
  } finally {
    await conn.close();
  }
}
