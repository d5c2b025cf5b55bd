'use strict';
/** Summarises V8 .cpuprofile files (node --cpu-prof): self time per function, most first. */
const fs = require('node:fs');
const path = require('node:path');

function summarize(file, top = 12) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas ?? [];
  let total = 0;
  prof.samples.forEach((id, i) => {
    const ms = (dt[i + 1] ?? dt[i] ?? 0) / 1000;
    total += ms;
    const cf = byId.get(id).callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '~/').replace(/.*\/(services|packages)\//, '$1/')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + ms);
  });
  const idle = (self.get('(idle)') ?? 0);
  const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs: total, busyMs: total - idle, rows };
}

function summarizeDir(dir, pidNames, top) {
  const out = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const pid = Number(f.split('.')[2]);
    const s = summarize(path.join(dir, f), top);
    out.push({ name: pidNames[pid] ?? `pid ${pid}`, file: f, ...s });
  }
  return out.filter((p) => p.name !== 'other' && !p.name.startsWith('pid '));
}

module.exports = { summarize, summarizeDir };
