// `@wa-sync/shared/contracts`: what services agree on (data shapes, queue and job names, events, keys,
// ids, webhooks, runner keys, the sync graph), so an import from here says "speaks the protocol", not "runs something".
export * from './domain.schemas';
export * from './queue.names';
export * from './job.catalog';
export * from './job.producer';
export * from './sync.graph';
export * from './session-event.schemas';
export * from './redis.keys';
export * from './sync-id.factory';
export * from './webhook.schemas';
export * from './runner.schemas';
