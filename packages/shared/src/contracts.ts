// `@wa-sync/shared/contracts`: what services agree on (data shapes, queue and job names, events, keys,
// ids, webhooks, runner keys), so an import from here says "speaks the protocol", not "runs something".
export * from './domain';
export * from './queues';
export * from './jobs';
export * from './job-producer';
export * from './events';
export * from './keys';
export * from './ids';
export * from './webhooks';
export * from './runners';
