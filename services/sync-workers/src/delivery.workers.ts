import { UnrecoverableError, type WorkerOptions } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import {
  type AnyCatalogWorker,
  BROKER_REPORT_EVERY_MS,
  type BrokerState,
  createCatalogWorker,
  EventLog,
  isFinalFailure,
  type Logger,
  type Redis,
  removeBrokerReport,
  WEBHOOK_URL_FORBIDDEN,
  WebhookSecretCipher,
  WebhookSecretUnreadableError,
  WebhookUrlForbiddenError,
  webhookUrlRefusal,
  writeBrokerReport,
} from '@wa-sync/shared/runtime';
import { AmqpPublisher } from './amqp.publisher';
import { deliveryBackoffStrategy } from './delivery.backoff';
import type { DeliveryConfig } from './delivery.config';
import { DeliveryRouter, urlTag } from './delivery.router';
import { EventDispatcher } from './event.dispatcher';
import { postWebhook } from './webhook.sender';

const UNREADABLE = new WebhookSecretUnreadableError('').message.split(':')[0];

export interface DeliveryWorkersDeps {
  config: DeliveryConfig;
  store: Store;
  redis: Redis;
  logger: Logger;
  eventLogMaxLen?: number;
  /** BullMQ lock settings, as the sync workers have them. */
  lock?: Partial<WorkerOptions>;
}

export interface DeliveryWorkers {
  router: DeliveryRouter;
  dispatcher: EventDispatcher;
  publisher: AmqpPublisher | null;
  workers: AnyCatalogWorker[];
  /** Resolves once the publisher is connecting and the dispatcher listens. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The delivery side of a sync-workers process: the RabbitMQ publisher, one worker per delivery
 * queue, the dispatcher of live events, and the broker report /readyz and /metrics read.
 */
export function startDeliveryWorkers(deps: DeliveryWorkersDeps): DeliveryWorkers {
  const { config, store, redis, logger } = deps;
  const log = logger.child({ part: 'delivery' });
  const router = new DeliveryRouter(config, redis, log);

  let report = { state: (config.amqp ? 'connecting' : 'off') as BrokerState, error: undefined as string | undefined, since: new Date().toISOString() };
  const sendReport = () =>
    writeBrokerReport(redis, { worker: config.workerId, ...report, at: Date.now() }).catch((err) =>
      log.debug({ err: (err as Error).message }, 'could not write broker report'),
    );
  const publisher = config.amqp
    ? new AmqpPublisher({
        url: config.amqp.url,
        queue: config.amqp.queue,
        logger: log,
        onState: (state, error) => {
          report = { state, error, since: new Date().toISOString() };
          void sendReport();
        },
      })
    : null;
  void sendReport();
  const heartbeat = setInterval(() => void sendReport(), BROKER_REPORT_EVERY_MS);

  /** URL tags already reported as refused by the SSRF rule. */
  const refusedUrls = new Set<string>();
  const secrets = new WebhookSecretCipher(config.webhooks.secretKey);
  const options: WorkerOptions = {
    connection: redis,
    concurrency: config.concurrency,
    settings: { backoffStrategy: deliveryBackoffStrategy(config) },
    ...deps.lock,
  };
  const amqpWorker = createCatalogWorker(
    QueueName.deliveryAmqp,
    QueueName.deliveryAmqp,
    {
      'publish-event': async (data) => {
        // RabbitMQ was turned off since the job was added: nothing to publish to.
        if (!publisher) return { skipped: 'AMQP_URL is not set' };
        await publisher.publish(data);
        return { published: config.amqp?.queue };
      },
    },
    options,
    log,
  );
  const webhookWorker = createCatalogWorker(
    QueueName.deliveryWebhook,
    QueueName.deliveryWebhook,
    {
      'post-webhook': async (data) => {
        try {
          // First: a URL the rule refuses fails whatever the store says (its credentials were redacted from the job).
          const refusal = webhookUrlRefusal(data.url, config.webhooks.policy);
          if (refusal) throw new WebhookUrlForbiddenError(refusal);
          let secret: string | undefined;
          if (data.source === 'env') {
            if (!config.webhooks.urls.includes(data.url)) return { skipped: 'the URL is no longer in WEBHOOK_URL' };
            secret = config.webhooks.secret;
          } else {
            const hook = (await store.getSessionWebhooks(data.sessionId)).find((w) => w.url === data.url);
            if (!hook) return { skipped: "the URL is no longer one of the session's webhooks" };
            secret = hook.secret ? secrets.open(hook.secret) : config.webhooks.secret;
          }
          return { status: await postWebhook(data.url, data, { secret, timeoutMs: config.webhooks.timeoutMs, policy: config.webhooks.policy }) };
        } catch (err) {
          if (!(err instanceof WebhookUrlForbiddenError) && !(err instanceof WebhookSecretUnreadableError)) throw err;
          // Refused by the SSRF rule (a URL stored before it, or a name that now resolves inside), or
          // a secret this process cannot open: retrying cannot help. Said once per URL and process.
          const tag = urlTag(data.url);
          if (!refusedUrls.has(tag)) {
            refusedUrls.add(tag);
            const what = err instanceof WebhookUrlForbiddenError ? 'webhook refused by the URL rule' : 'webhook secret unreadable (WEBHOOK_SECRET_KEY)';
            log.error({ sessionId: data.sessionId, source: data.source, urlTag: tag, reason: err.message }, `${what}: its deliveries fail for good (see README "Security")`);
          }
          throw new UnrecoverableError(err.message);
        }
      },
    },
    options,
    log,
  );
  for (const worker of [amqpWorker, webhookWorker]) {
    worker.on('failed', (job, err) => {
      // Refusals by the URL rule and unreadable secrets were said once already, above.
      if (job && isFinalFailure(job, err) && !err.message.startsWith(WEBHOOK_URL_FORBIDDEN) && !err.message.startsWith(UNREADABLE)) {
        log.error({ queue: worker.name, jobId: job.id, attempts: job.attemptsMade, err: err.message }, 'delivery gave up: the job stays failed (retry it from Bull Board)');
      }
    });
  }

  const dispatcher = new EventDispatcher({ redis, store, log: new EventLog(redis, { maxLen: deps.eventLogMaxLen, logger: log }), router, config, logger: log });
  const ready = (async () => {
    await publisher?.start();
    await dispatcher.start();
  })();
  ready.catch((err) => log.error({ err: (err as Error).message }, 'delivery could not start'));
  log.info(
    { amqp: config.amqp ? { queue: config.amqp.queue, events: config.amqp.events } : 'off', webhooks: config.webhooks.urls.length, webhookEvents: config.webhooks.events },
    'delivery started',
  );

  return {
    router,
    dispatcher,
    publisher,
    workers: [amqpWorker, webhookWorker],
    ready,
    async close() {
      clearInterval(heartbeat);
      // A start still waiting for Redis is abandoned (close() below stops what it began).
      await Promise.race([ready.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
      await dispatcher.close();
      await Promise.all([amqpWorker.close(), webhookWorker.close()]);
      await router.close();
      await publisher?.close();
      await removeBrokerReport(redis, config.workerId).catch(() => undefined);
    },
  };
}
