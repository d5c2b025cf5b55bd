import type { MinimalJob } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import { deliveryBackoffStrategy, deliveryDelay } from './delivery.backoff';
import { deliveryConfig } from './delivery.config';

describe('delivery backoff', () => {
  it('waits WEBHOOK_BACKOFF_MS before the first retry, then doubles, with jitter, capped', () => {
    const low = () => 0;
    const high = () => 1;
    expect(deliveryDelay(1, 2_000, 3_600_000, low)).toBe(1_600);
    expect(deliveryDelay(1, 2_000, 3_600_000, high)).toBe(2_400);
    expect(deliveryDelay(2, 2_000, 3_600_000, () => 0.5)).toBe(4_000);
    expect(deliveryDelay(3, 2_000, 3_600_000, () => 0.5)).toBe(8_000);
    // 2 s · 2^11 = 68 min: past the hour, every retry waits at most an hour.
    expect(deliveryDelay(12, 2_000, 3_600_000, high)).toBe(3_600_000);
    expect(deliveryDelay(500, 2_000, 3_600_000, low)).toBe(2_880_000);
  });

  it('gives up (-1: the job fails and stays failed) once the next try would fall after the retry window', () => {
    let now = 1_000_000;
    const strategy = deliveryBackoffStrategy(deliveryConfig({ retryForMs: 24 * 3_600_000 }), () => now);
    const job = { queueName: QueueName.deliveryWebhook, timestamp: now, opts: { backoff: { type: 'delivery', delay: 2_000 } } } as unknown as MinimalJob;
    expect(strategy(1, 'delivery', undefined, job)).toBeGreaterThanOrEqual(1_600);
    // A day's retries: about 12 growing ones, then hourly ones.
    let tries = 0;
    for (let attempt = 1; ; attempt++) {
      const delay = strategy(attempt, 'delivery', undefined, job);
      if (delay === -1) break;
      now += delay;
      tries++;
    }
    expect(now - 1_000_000).toBeLessThanOrEqual(24 * 3_600_000);
    expect(now - 1_000_000).toBeGreaterThan(23 * 3_600_000);
    process.stdout.write(`a webhook that never answers 2xx is tried ${tries + 1} times over ${((now - 1_000_000) / 3_600_000).toFixed(1)} h\n`);
  });
});
