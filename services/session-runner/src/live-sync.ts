import type { Logger, Store } from '@wa-sync/shared';
import type { WhatsAppClient } from './engine/engine';
import type { SessionStatusReporter } from './session-status';

/**
 * After `ready`, new messages and delivery updates are written straight to the store (one small
 * upsert each, idempotent like the bulk sync) and announced to joined clients.
 */
export function attachLiveSync(
  client: WhatsAppClient,
  deps: { store: Store; reporter: SessionStatusReporter; logger: Logger },
): void {
  const sessionId = client.sessionId;
  client.on('message', (message) => {
    void (async () => {
      await deps.store.upsertMessages(sessionId, message.chatId, [message]);
      await deps.reporter.announce(sessionId, 'message:new', { ...message, sessionId });
    })().catch((err) => deps.logger.error({ sessionId, err }, 'live message not stored'));
  });
  client.on('message_ack', (update) => {
    void (async () => {
      if (await deps.store.updateMessageAck(sessionId, update.chatId, update.id, update.ack)) {
        await deps.reporter.announce(sessionId, 'message:status', { sessionId, ...update });
      }
    })().catch((err) => deps.logger.error({ sessionId, err }, 'live ack not stored'));
  });
}
