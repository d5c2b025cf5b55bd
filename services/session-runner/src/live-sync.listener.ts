import type { Store } from '@wa-sync/shared/store';
import type { WhatsAppClient } from './engine/engine.interface';
import type { LiveWriteQueue } from './live-write.queue';
import type { SessionStatusReporter } from './session-status.reporter';

/**
 * After `ready`, new messages, delivery updates, edits and deletes for everyone are written straight
 * to the store (one small idempotent write each, like the bulk sync) and announced to joined
 * clients. An update the store did not take (unknown message, ack not higher, older edit, already
 * deleted) is not announced: clients only hear about what changed.
 *
 * The writes go through the session's {@link LiveWriteQueue}: in arrival order, waiting out a store
 * locked by another process. One queue per session, not per client, so the writes of a rebuilt
 * client line up behind the old one's.
 */
export function attachLiveSync(
  client: WhatsAppClient,
  deps: { store: Store; reporter: SessionStatusReporter },
  writes: LiveWriteQueue,
): void {
  const sessionId = client.sessionId;
  const handle = (what: string, work: () => Promise<unknown>) => writes.push(what, work);
  client.on('message', (message) =>
    handle('message', async () => {
      await deps.store.upsertMessages(sessionId, message.chatId, [message]);
      await deps.reporter.announce(sessionId, 'message:new', { ...message, sessionId });
    }),
  );
  client.on('message_ack', (update) =>
    handle('ack', async () => {
      if (await deps.store.updateMessageAck(sessionId, update.chatId, update.id, update.ack)) {
        await deps.reporter.announce(sessionId, 'message:status', { sessionId, ...update });
      }
    }),
  );
  client.on('message_edit', ({ chatId, id, body, editedAt }) =>
    handle('edit', async () => {
      if (await deps.store.editMessage(sessionId, chatId, id, body, editedAt)) {
        await deps.reporter.announce(sessionId, 'message:edit', { sessionId, chatId, id, body, editedAt });
      }
    }),
  );
  client.on('message_revoke_everyone', ({ chatId, id }) =>
    handle('delete', async () => {
      if (await deps.store.revokeMessage(sessionId, chatId, id)) {
        await deps.reporter.announce(sessionId, 'message:revoke', { sessionId, chatId, id });
      }
    }),
  );
}
