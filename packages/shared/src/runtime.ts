// `@wa-sync/shared/runtime`: what a running service needs (env, logger, Redis, event log, shutdown,
// timeouts, sync progress and requests, catalog workers, delivery status), apart from the contracts.
export * from './env';
export * from './logger';
export * from './redis';
export * from './event-log';
export { APPEND_EVENT_LUA_FN } from './event-log.scripts';
export * from './delivery-status';
export * from './session-queues';
export * from './sync-progress';
export * from './sync-request';
export * from './catch-up-gaps';
export * from './catalog-worker';
export * from './catalog.queue';
export * from './shutdown';
export * from './timeout';
