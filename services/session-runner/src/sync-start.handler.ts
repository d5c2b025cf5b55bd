import type { FlowProducer } from 'bullmq';
import {
  type Logger,
  type Store,
  type SyncProgress,
  type SyncStartJob,
  QueueName,
  flowJob,
  sessionQueueName,
} from '@wa-sync/shared';
import type { WhatsAppClient } from './engine/engine';

export interface SyncStartDeps {
  store: Store;
  progress: SyncProgress;
  flow: FlowProducer;
  logger: Logger;
}

/**
 * Lists the account's chats, saves them, announces the first `sync_chats` and adds the job graph:
 * finalize ← per chat (save ← fetch). Every step is idempotent (fixed job ids, progress begins
 * once), so a retried sync-start never doubles the work.
 */
export async function runSyncStart(client: WhatsAppClient, data: SyncStartJob, deps: SyncStartDeps): Promise<{ nChats: number }> {
  const { sessionId, syncId } = data;
  const log = deps.logger.child({ sessionId, syncId });
  const chats = await client.getChats();
  const wanted = data.chatIds ? new Set(data.chatIds) : null;
  const selected = wanted ? chats.filter((c) => wanted.has(c.id)) : chats;
  if (wanted && selected.length < wanted.size) {
    log.warn({ requested: wanted.size, found: selected.length }, 'some requested chats do not exist');
  }

  await deps.store.upsertChats(sessionId, chats);
  await deps.store.startSyncRun({ syncId, sessionId, reason: data.reason, nChats: selected.length });
  await deps.progress.begin(sessionId, syncId, selected.length);

  const chatIds = selected.map((c) => c.id);
  await deps.flow.add(
    flowJob(QueueName.syncFinalize, 'finalize-sync', {
      queueName: QueueName.syncFinalize,
      data: { sessionId, syncId, chatIds },
      opts: { jobId: `finalize-${syncId}` },
      children: chatIds.map((chatId, i) =>
        flowJob(QueueName.chatSave, 'save-chat', {
          queueName: QueueName.chatSave,
          data: { sessionId, syncId, chatId },
          // A failed chat must not stall the finalize job: it is counted in chatsFailed instead.
          opts: { jobId: `save-${syncId}-${i}`, ignoreDependencyOnFailure: true },
          children: [
            flowJob('session', 'fetch-messages', {
              queueName: sessionQueueName(sessionId),
              data: { sessionId, syncId, chatId, limit: data.limitPerChat },
              opts: { jobId: `fetch-${syncId}-${i}`, ignoreDependencyOnFailure: true },
            }),
          ],
        }),
      ),
    }),
  );
  log.info({ nChats: chatIds.length, reason: data.reason }, 'sync started');
  return { nChats: chatIds.length };
}
