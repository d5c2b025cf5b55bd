'use strict';
/**
 * The health checker of the idle-connection flood (idle-flood.fault-row.ts), in a process of its
 * own: the row's process samples the API's sockets from /proc (up to 20,000 readlinks every
 * 100 ms), and a probe on that event loop timed its own stalls, not the API's.
 *
 *   node idle-flood.prober.js <port> <everyMs> <beforeCount>
 * GET /healthz on a new connection: <beforeCount> times first, then IPC {type:'started', beforeMs};
 * then every <everyMs> until {type:'finish'}; then once more, and IPC {type:'summary', answeredMs,
 * unanswered, afterMs} (afterMs null when that last one failed).
 */
const { request } = require('node:http');

const [port, everyMs, beforeCount] = process.argv.slice(2).map(Number);
let probing = true;
const answeredMs = [];
let unanswered = 0;

function healthz() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 5_000 }, (res) => {
      res.on('error', () => resolve(null));
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : null));
      res.resume();
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

process.on('message', (m) => {
  if (m?.type === 'finish') probing = false;
});

(async () => {
  const beforeMs = [];
  for (let i = 0; i < beforeCount; i++) {
    const ms = await healthz();
    if (ms !== null) beforeMs.push(ms);
  }
  process.send({ type: 'started', beforeMs });
  while (probing) {
    const ms = await healthz();
    if (ms === null) unanswered += 1;
    else answeredMs.push(ms);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const afterMs = await healthz();
  process.send({ type: 'summary', answeredMs, unanswered, afterMs }, () => process.exit(0));
})();
