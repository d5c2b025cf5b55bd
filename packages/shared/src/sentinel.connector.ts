import { SentinelConnector, type SentinelConnectionOptions } from 'ioredis';

/** What this class reads of ioredis' SentinelConnector that its typings keep private. */
interface Internals {
  failoverDetector?: { cleanup(): void };
}

type Connecting = ReturnType<SentinelConnector['connect']>;

/**
 * ioredis' SentinelConnector whose +switch-master detector (connections leave a primary the
 * sentinels replaced at once, instead of writing ~10 s to it until they demote it) lives only as
 * long as the connection it was made for. ioredis keeps it after that connection closes, which
 * 1. ends the connection for good when its message lands while a reconnect is asking the sentinels
 *    (the connect is aborted as "Connection is closed." and never retried: seen at a kill -9
 *    failover under load), and
 * 2. leaves its subscriptions to every sentinel open after `quit()` (ioredis#1362), three sockets
 *    for each BullMQ connection ever closed.
 * A reconnect asks the sentinels anyway; its own connection gets a new detector.
 */
export class SteadySentinelConnector extends SentinelConnector {
  /** ioredis hands a Connector its options untyped; these are the Sentinel options it was given. */
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override connect(...args: Parameters<SentinelConnector['connect']>): Connecting {
    return super.connect(...args).then((stream) => {
      stream.once('close', () => {
        const internals = this as unknown as Internals;
        internals.failoverDetector?.cleanup();
        internals.failoverDetector = undefined;
      });
      return stream;
    });
  }
}
