import { createLogger } from '@wa-sync/shared/runtime';
import { StoreBusyError } from '@wa-sync/shared/store';
import { LiveWriteQueue } from './live-write.queue';

const logger = createLogger('test', 'silent');
const noWait = () => Promise.resolve();

/** A write that records its store step and its announcement in `log`. */
function recorded(log: string[], name: string, store: () => Promise<boolean> = async () => true) {
  return {
    store: async () => {
      const changed = await store();
      log.push(`stored ${name}`);
      return changed;
    },
    announce: async () => {
      log.push(`announced ${name}`);
    },
  };
}

it('tries a write that found the store locked again, and holds the later writes behind it', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const log: string[] = [];
  let busy = 3;
  q.push('first', recorded(log, 'first', async () => {
    if (busy-- > 0) throw new StoreBusyError(100);
    return true;
  }));
  q.push('second', recorded(log, 'second'));
  await q.drained();
  expect(log.filter((x) => x.startsWith('stored'))).toEqual(['stored first', 'stored second']);
  expect(log.filter((x) => x.startsWith('announced'))).toEqual(['announced first', 'announced second']);
  expect(q.pending).toBe(0);
});

it('announces only what changed the store', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const log: string[] = [];
  q.push('stale ack', recorded(log, 'stale', async () => false));
  q.push('new ack', recorded(log, 'new'));
  await q.drained();
  expect(log.filter((x) => x.startsWith('announced'))).toEqual(['announced new']);
});

it('logs and skips a write that fails for another reason: the next one still runs', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const log: string[] = [];
  q.push('broken', recorded(log, 'broken', async () => {
    throw new Error('unknown chat');
  }));
  q.push('next', recorded(log, 'next'));
  await q.drained();
  expect(log).toEqual(['stored next', 'announced next']);
});

it('keeps storing while an announcement hangs (Redis away), and announces in order once it answers', async () => {
  const q = new LiveWriteQueue(logger, 10, noWait);
  const log: string[] = [];
  let answer!: () => void;
  const redisBack = new Promise<void>((resolve) => (answer = resolve));
  q.push('first', {
    store: async () => {
      log.push('stored first');
      return true;
    },
    announce: async () => {
      await redisBack;
      log.push('announced first');
    },
  });
  q.push('second', recorded(log, 'second'));
  while (q.pending > 0) await new Promise((resolve) => setImmediate(resolve));
  expect(log).toEqual(['stored first', 'stored second']);
  answer();
  await q.drained();
  expect(log).toEqual(['stored first', 'stored second', 'announced first', 'announced second']);
});

it('drops new writes past its bound while the store stays locked, and keeps the ones it holds', async () => {
  let release!: () => void;
  const unlocked = new Promise<void>((resolve) => (release = resolve));
  let locked = true;
  void unlocked.then(() => (locked = false));
  const q = new LiveWriteQueue(logger, 2, () => unlocked);
  const log: string[] = [];
  for (const i of [1, 2, 3]) {
    q.push(`w${i}`, recorded(log, `w${i}`, async () => {
      if (locked) throw new StoreBusyError(100);
      return true;
    }));
  }
  expect(q.pending).toBe(2);
  release();
  await q.drained();
  expect(log.filter((x) => x.startsWith('stored'))).toEqual(['stored w1', 'stored w2']);
});
