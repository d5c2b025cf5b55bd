'use strict';
/**
 * Preloaded into the services (NODE_OPTIONS=--require, since node refuses --cpu-prof there):
 * records a V8 CPU profile from start to exit and writes it to $BENCH_CPU_PROF_DIR as
 * CPU.<time>.<pid>.0.001.cpuprofile. Only service processes (services/<name>/dist/main.js) and the
 * progress part's client processes (scripts/bench/clients.js).
 */
const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir && /services\/[\w-]+\/dist\/|scripts\/bench\/clients\.js$/.test(process.argv[1] ?? '')) {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const path = require('node:path');
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-thread session answers synchronously, so this completes before the process ends.
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(path.join(dir, `CPU.${Date.now()}.${process.pid}.0.001.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
