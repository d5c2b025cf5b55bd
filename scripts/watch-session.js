#!/usr/bin/env node
/**
 * Joins a session over the WebSocket and prints every event, as a frontend would receive them.
 *   node scripts/watch-session.js demo [ws://127.0.0.1:3000/ws]
 * With API_KEY set, it is sent as ?token=.
 */
'use strict';
const WebSocket = require('ws');

const [sessionId = 'demo', base = `ws://127.0.0.1:${process.env.PORT ?? 3000}/ws`] = process.argv.slice(2);
const url = process.env.API_KEY ? `${base}?token=${encodeURIComponent(process.env.API_KEY)}` : base;
const ws = new WebSocket(url);
ws.on('open', () => ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } })));
ws.on('message', (raw) => {
  const { event, data } = JSON.parse(raw);
  if (data && typeof data.qrDataUrl === 'string') data.qrDataUrl = `${data.qrDataUrl.slice(0, 40)}…`;
  console.log(new Date().toISOString().slice(11, 23), event, JSON.stringify(data));
});
ws.on('close', (code) => {
  console.log(`closed (${code})`);
  process.exit(0);
});
ws.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
