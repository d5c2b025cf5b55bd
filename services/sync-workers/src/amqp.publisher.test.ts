/**
 * The RabbitMQ publisher against the real broker (AMQP_TEST_URL), each test on its own queue,
 * deleted after. The outage is a TCP proxy between the publisher and the broker, stopped and
 * started again: the broker itself is never touched.
 */
import type { DeliveryEvent } from '@wa-sync/shared/contracts';
import { type BrokerState, createLogger } from '@wa-sync/shared/runtime';
import { AMQP_TEST_URL, QueueConsumer, brokerReachableSync, describeWithBroker, uniqueQueueName } from '../../../test/support/amqp';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { waitFor } from '../../../test/support/wait-for';
import { AmqpPublisher, withoutPassword } from './amqp.publisher';

const logger = createLogger('test', 'silent');

function event(n: number): DeliveryEvent {
  return {
    eventId: `pub-test.1700000000000-${n}`,
    sessionId: 'pub-test',
    event: 'session_ready',
    timestamp: new Date(1_700_000_000_000).toISOString(),
    data: { sessionId: 'pub-test', syncId: `s${n}`, kind: 'full', chats: ['a@c.us'], nChats: 1, totalMessages: 3, chatsFailed: 0 },
  };
}

it('keeps the broker password out of logs', () => {
  expect(withoutPassword('amqp://user:s3cret@broker:5672/vhost')).toBe('amqp://user:***@broker:5672/vhost');
});

describe('AmqpPublisher', () => {
  describeWithBroker('against RabbitMQ', brokerReachableSync(), () => {
    let consumer: QueueConsumer;
    let publisher: AmqpPublisher | undefined;
    let proxy: TcpProxy | undefined;
    const states: BrokerState[] = [];

    beforeEach(async () => {
      consumer = await QueueConsumer.start(uniqueQueueName('publisher'));
      states.length = 0;
    });
    afterEach(async () => {
      await publisher?.close();
      await proxy?.stop();
      await consumer?.close();
    });

    it('publishes persistent { pattern, data } JSON with the event id as messageId, once confirmed', async () => {
      publisher = new AmqpPublisher({ url: AMQP_TEST_URL, queue: consumer.queue, logger, onState: (s) => states.push(s) });
      await publisher.start();
      await waitFor('the connection', () => publisher!.state === 'up', 10_000);
      await publisher.publish(event(1));
      await waitFor('the message', () => consumer.messages.length === 1, 10_000);
      const [msg] = consumer.messages;
      expect(msg.body).toEqual({ pattern: 'session_ready', data: event(1).data });
      expect(msg.messageId).toBe('pub-test.1700000000000-1');
      expect(msg.persistent).toBe(true);
      expect(msg.contentType).toBe('application/json');
      expect(msg.headers['x-wa-sync-session-id']).toBe('pub-test');
      expect(states).toEqual(['up']);
    });

    it('fails fast while the broker is unreachable and reconnects by itself when it is back', async () => {
      const { hostname, port } = new URL(AMQP_TEST_URL);
      proxy = await TcpProxy.open({ host: hostname, port: Number(port || 5672) });
      publisher = new AmqpPublisher({ url: proxy.url(AMQP_TEST_URL), queue: consumer.queue, logger, onState: (s) => states.push(s) });
      await publisher.start();
      await waitFor('the connection', () => publisher!.state === 'up', 10_000);
      await publisher.publish(event(1));

      await proxy.stop();
      await waitFor('the publisher to notice', () => publisher!.state === 'down', 10_000);
      const started = Date.now();
      await expect(publisher.publish(event(2))).rejects.toThrow(/unreachable/);
      process.stdout.write(`publish while the broker is down failed after ${Date.now() - started} ms\n`);

      await proxy.start();
      await waitFor('the reconnect', () => publisher!.state === 'up', 15_000);
      await publisher.publish(event(3));
      await waitFor('both messages', () => consumer.messages.length === 2, 10_000);
      expect(consumer.messages.map((m) => m.messageId)).toEqual(['pub-test.1700000000000-1', 'pub-test.1700000000000-3']);
      expect(states[0]).toBe('up');
      expect(states).toContain('down');
      expect(states.at(-1)).toBe('up');
    });
  });
});
