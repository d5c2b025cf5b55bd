/**
 * The one script registry against a private redis-server: names carry a version, the one
 * compare-and-delete frees only what its caller holds, and a command still runs after Redis lost
 * its script cache (a restart): ioredis falls back from EVALSHA to EVAL.
 */
import { suiteRedis } from '../../../test/support/redis-server';
import { Script, useScripts } from './script.registry';

const suite = suiteRedis();

it('names every command name:version, each name once', () => {
  const names = Object.values(Script);
  for (const name of names) expect(name).toMatch(/^wa[A-Z][A-Za-z]+:\d+$/);
  expect(new Set(names.map((n) => n.split(':')[0])).size).toBe(names.length);
});

it('compare-and-delete frees a key only while it holds the caller’s value', async () => {
  const redis = useScripts(suite.redis, 'compareAndDelete');
  await redis.set('lock', 'mine');
  expect(await redis[Script.compareAndDelete]('lock', 'theirs')).toBe(0);
  expect(await redis.get('lock')).toBe('mine');
  expect(await redis[Script.compareAndDelete]('lock', 'mine')).toBe(1);
  expect(await redis.exists('lock')).toBe(0);
});

it('defines a command once per connection, and runs it after Redis flushed its scripts', async () => {
  const redis = useScripts(useScripts(suite.redis, 'compareAndDelete'), 'compareAndDelete');
  await redis.set('k', 'v');
  await redis.script('FLUSH');
  expect(await redis[Script.compareAndDelete]('k', 'v')).toBe(1);
  // A duplicated connection starts without definitions: it gets its own.
  const other = suite.redis.duplicate();
  try {
    expect(Script.compareAndDelete in other).toBe(false);
    useScripts(other, 'compareAndDelete');
    await other.set('k2', 'v');
    expect(await other[Script.compareAndDelete]('k2', 'v')).toBe(1);
  } finally {
    other.disconnect();
  }
});
