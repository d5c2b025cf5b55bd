// `@wa-sync/shared/runtime`: what a running service needs (env, logger, Redis, event log, shutdown,
// timeouts, sync progress and requests, catalog workers, delivery status, the webhook URL guard), apart from the contracts.
export * from './env';
export * from './logger.factory';
export * from './redis.client';
export * from './event-log.stream';
export { APPEND_EVENT_LUA_FN } from './event-log.scripts';
export * from './delivery.status';
export * from './session.queues';
export * from './sync-progress.store';
export * from './sync-request.producer';
export * from './catch-up-gaps.store';
export * from './catalog.worker';
export * from './catalog.queue';
export * from './shutdown.sequence';
export * from './timeout.util';
export * from './webhook-url.guard';
