import { createLogger } from '@wa-sync/shared/runtime';
import { StoreBusyError } from '@wa-sync/shared/store';
import { LiveWriteQueue } from './live-write.queue';

const logger = createLogger('test', 'silent');
const noWait = () => Promise.resolve();

it('tries a write that found the store locked again, and holds the later writes behind it', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const done: string[] = [];
  let busy = 3;
  q.push('first', async () => {
    if (busy-- > 0) throw new StoreBusyError(100);
    done.push('first');
  });
  q.push('second', async () => {
    done.push('second');
  });
  await q.drained();
  expect(done).toEqual(['first', 'second']);
  expect(q.pending).toBe(0);
});

it('logs and skips a write that fails for another reason: the next one still runs', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const done: string[] = [];
  q.push('broken', async () => {
    throw new Error('unknown chat');
  });
  q.push('next', async () => {
    done.push('next');
  });
  await q.drained();
  expect(done).toEqual(['next']);
});

it('drops new writes past its bound while the store stays locked, and keeps the ones it holds', async () => {
  let release!: () => void;
  const unlocked = new Promise<void>((resolve) => (release = resolve));
  let locked = true;
  void unlocked.then(() => (locked = false));
  const q = new LiveWriteQueue(logger, 2, () => unlocked);
  const done: number[] = [];
  for (const i of [1, 2, 3]) {
    q.push(`w${i}`, async () => {
      if (locked) throw new StoreBusyError(100);
      done.push(i);
    });
  }
  expect(q.pending).toBe(2);
  release();
  await q.drained();
  expect(done).toEqual([1, 2]);
});
