// `@wa-sync/shared/runtime`: what a running service needs (env, logger, Redis, event log, shutdown,
// timeouts, the sync ledger and the script registry, catalog workers, delivery status, the webhook URL guard), apart from the contracts.
export * from './env';
export * from './logger.factory';
export * from './redis.client';
export * from './redis-url.parser';
export * from './event-log.stream';
export * from './delivery.status';
export * from './process.health';
export * from './session.queues';
export * from './media-jobs.producer';
export * from './script.registry';
export * from './sync-ledger.store';
export * from './sync-ledger.types';
export * from './catalog.worker';
export * from './catalog.queue';
export * from './shutdown.sequence';
export * from './timeout.util';
export * from './webhook-url.guard';
export * from './webhook-secret.cipher';
