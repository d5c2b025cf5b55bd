'use strict';
/**
 * The bench's products: each on its own Redis and temp dir, always cleaned up, and all stopped at
 * once on the deadline or Ctrl-C. CPU profiles (--profile) are summarized into `extra.profiles`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, sleep } = require('./util');
const { startRedis } = require('./redis');
const { Product, childPids } = require('./product');
const { summarizeDir } = require('./profile');

function productPool({ extra, say, keepProfiles }) {
  /** Products running now, with their Redis and temp dir. */
  const live = new Set();

  /**
   * Deadline or Ctrl-C: stops every product still running (SIGINT to start.js, SIGKILL to it and
   * its services after 20 s), then its Redis, then removes its temp dir.
   */
  async function stopAll() {
    await Promise.all(
      [...live].map(async ({ product, redis, dataDir }) => {
        const child = product.child;
        if (child && child.exitCode === null) {
          const services = childPids(child.pid);
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGINT');
          if ((await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)])) === false) {
            for (const pid of [...services, child.pid]) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {}
            }
          }
        }
        redis.kill();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }),
    );
  }

  /** A product on its own Redis and temp dir; `fn(product, redis)`; always cleaned up. */
  async function withProduct(env, fn, o = {}) {
    const redis = await startRedis();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-'));
    const profileDir = o.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-prof-')) : undefined;
    const product = new Product({ redisUrl: redis.url, dataDir, port: await freePort(), env: { SYNC_CONCURRENCY: '8', SIM_FETCH_LATENCY_MS: '0', ...env }, profileDir });
    const entry = { product, redis, dataDir };
    live.add(entry);
    try {
      await product.start();
      return await fn(product, redis);
    } finally {
      live.delete(entry);
      await product.stop().catch(() => {});
      if (profileDir) {
        (extra.profiles ??= []).push(...summarizeDir(profileDir, product.pidNames, 15).map((x) => ({ ...x, part: o.label })));
        if (!keepProfiles) fs.rmSync(profileDir, { recursive: true, force: true });
        else say(`  profiles kept in ${profileDir}`);
      }
      await redis.stop().catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  return { withProduct, stopAll };
}

module.exports = { productPool };
