import type { Reaction } from '@wa-sync/shared/contracts';
import type { ReactionsSeen, Store } from '@wa-sync/shared/store';
import { addMediaJobs, type Logger, type SessionQueues } from '@wa-sync/shared/runtime';
import type { WhatsAppClient } from './engine/engine.interface';
import type { LiveWriteQueue } from './live-write.queue';
import { MEDIA_OFF, type MediaRule, settleLeftOutMedia } from './media.policy';
import type { SessionStatusReporter } from './session-status.reporter';

/**
 * After `ready`, new messages, delivery updates, edits, deletes for everyone and reactions are written straight
 * to the store (one small idempotent write each, like the bulk sync) and announced to joined
 * clients. An update the store did not take (unknown message, ack not higher, older edit, already
 * deleted) is not announced: clients only hear about what changed.
 *
 * The writes go through the session's {@link LiveWriteQueue}: in arrival order, waiting out a store
 * locked by another process, announced in the same order. One queue per session, not per client,
 * so the writes of a rebuilt client line up behind the old one's.
 */
export function attachLiveSync(
  client: WhatsAppClient,
  deps: { store: Store; reporter: SessionStatusReporter; queues: SessionQueues; logger: Logger; media?: MediaRule },
  writes: LiveWriteQueue,
): void {
  const sessionId = client.sessionId;
  client.on('message', (received) => {
    // A file the rule leaves out is stored `skipped` at once, as in a sync: no job only to be told so.
    const [message] = settleLeftOutMedia([received], 'live', deps.media ?? MEDIA_OFF);
    writes.push('message', {
      store: async () => {
        await deps.store.upsertMessages(sessionId, message.chatId, [message]);
        // Its file is fetched by a media job once the message is stored; a job not added now is
        // added by the media sweep (the message stays `pending` meanwhile).
        if (message.media?.status === 'pending') {
          await addMediaJobs(deps.queues.get(sessionId), sessionId, [{ chatId: message.chatId, messageId: message.id }], 'live').catch((err) =>
            deps.logger.warn({ sessionId, messageId: message.id, err: (err as Error).message }, 'media job not added; the sweep will'),
          );
        }
        return true;
      },
      announce: () => deps.reporter.announce(sessionId, 'message:new', { ...message, sessionId }),
    });
  });
  client.on('message_ack', (update) =>
    writes.push('ack', {
      store: () => deps.store.updateMessageAck(sessionId, update.chatId, update.id, update.ack),
      announce: () => deps.reporter.announce(sessionId, 'message:status', { sessionId, ...update }),
    }),
  );
  client.on('message_edit', ({ chatId, id, body, editedAt }) =>
    writes.push('edit', {
      store: () => deps.store.editMessage(sessionId, chatId, id, body, editedAt),
      announce: () => deps.reporter.announce(sessionId, 'message:edit', { sessionId, chatId, id, body, editedAt }),
    }),
  );
  // The store answers the reactions after the change, or null when nothing changed (not announced).
  client.on('message_reaction', ({ chatId, id, senderId, emoji, timestamp }) => {
    let reactions: Reaction[] | null = null;
    writes.push('reaction', {
      store: async () => (reactions = await deps.store.setReaction(sessionId, chatId, id, { senderId, emoji, timestamp })) !== null,
      announce: () => deps.reporter.announce(sessionId, 'message:reaction', { sessionId, chatId, id, reactions: reactions ?? [] }),
    });
  });
  client.on('message_revoke_everyone', ({ chatId, id }) =>
    writes.push('delete', {
      store: () => deps.store.revokeMessage(sessionId, chatId, id),
      announce: () => deps.reporter.announce(sessionId, 'message:revoke', { sessionId, chatId, id }),
    }),
  );
}

/**
 * What a catch-up or a manual re-sync read of one chat's reactions (fetch-messages.handler), in
 * line with the live writes: a live reaction that came before it is not undone, and one that comes
 * after wins; each message whose reactions it changed is announced like a live reaction.
 */
export function pushReactionsSeen(
  writes: LiveWriteQueue,
  deps: { store: Store; reporter: SessionStatusReporter },
  sessionId: string,
  chatId: string,
  seen: ReactionsSeen[],
): void {
  let changed: ReactionsSeen[] = [];
  writes.push('reactions seen', {
    store: async () => (changed = await deps.store.replaceReactions(sessionId, chatId, seen)).length > 0,
    announce: () => Promise.all(changed.map(({ id, reactions }) => deps.reporter.announce(sessionId, 'message:reaction', { sessionId, chatId, id, reactions }))),
  });
}
