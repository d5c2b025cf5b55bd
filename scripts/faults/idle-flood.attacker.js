'use strict';
/**
 * One attacker process of the idle-connection flood (idle-flood.fault-row.ts): opens `count` TCP
 * connections to 127.0.0.1:<port> that never send a byte, at most CONNECTING at a time, and
 * records when each opened and when the server closed it. Several of these run side by side so
 * that no process nears its open-file limit.
 *
 *   node idle-flood.attacker.js <port> <count>
 * IPC to the parent: {type:'opened', lastOpenedAt, opened, refused} once every connect settled,
 * then {type:'summary', …} once every connection is closed, or at once on {type:'finish'}
 * (connections still open are counted, then destroyed).
 */
const net = require('node:net');

const [port, countRaw] = process.argv.slice(2).map(Number);
const count = countRaw;
const CONNECTING = 256;

let started = 0;
let settled = 0;
let opened = 0;
let refused = 0;
let closed = 0;
let lastOpenedAt = 0;
let lastClosedAt = 0;
/** ms from open to the server's close, per connection. */
const lifetimes = [];
const open = new Set();

function one() {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let openedAt = 0;
    socket.on('error', () => {});
    socket.once('connect', () => {
      openedAt = Date.now();
      lastOpenedAt = openedAt;
      opened += 1;
      open.add(socket);
      resolve();
    });
    socket.once('close', () => {
      if (!openedAt) {
        refused += 1;
        return resolve();
      }
      open.delete(socket);
      closed += 1;
      lastClosedAt = Date.now();
      lifetimes.push(lastClosedAt - openedAt);
      if (settled === count && open.size === 0) summary();
    });
  }).then(() => void (settled += 1));
}

async function main() {
  const worker = async () => {
    while (started < count) {
      started += 1;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTING, count) }, worker));
  process.send({ type: 'opened', lastOpenedAt, opened, refused });
  if (open.size === 0) summary();
}

let done = false;
function summary() {
  if (done) return;
  done = true;
  process.send({ type: 'summary', opened, refused, closed, stillOpen: open.size, lastOpenedAt, lastClosedAt, lifetimes });
  for (const s of open) s.destroy();
  setTimeout(() => process.exit(0), 100);
}

process.on('message', (m) => m?.type === 'finish' && summary());
process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  process.send({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
});
