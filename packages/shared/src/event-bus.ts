import type { BusEnvelope, ServerEvents, SessionEventName } from './events';
import { Keys } from './keys';
import type { Redis } from './redis';

/** Announces a session event to every API process (which forwards it to joined sockets). */
export async function publishEvent<E extends SessionEventName>(
  redis: Redis,
  sessionId: string,
  event: E,
  data: ServerEvents[E],
): Promise<void> {
  const envelope: BusEnvelope<E> = { sessionId, event, data };
  await redis.publish(Keys.eventsChannel, JSON.stringify(envelope));
}

/** Subscribes a dedicated connection (a subscriber can run no other command). */
export async function subscribeEvents(subscriber: Redis, onEvent: (envelope: BusEnvelope) => void): Promise<void> {
  subscriber.on('message', (channel: string, raw: string) => {
    if (channel !== Keys.eventsChannel) return;
    onEvent(JSON.parse(raw) as BusEnvelope);
  });
  await subscriber.subscribe(Keys.eventsChannel);
}
