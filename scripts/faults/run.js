#!/usr/bin/env node
// `npm run test:faults [-- --quick]`: builds nothing itself (the npm script builds first), runs the
// fault suite with Jest and prints its table; the exit code is Jest's (non-zero when a row fails).
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const quick = process.argv.includes('--quick');
const dir = mkdtempSync(path.join(tmpdir(), 'wa-sync-faults-report-'));
const report = path.join(dir, 'table.md');
const jest = require.resolve('jest/bin/jest');
const result = spawnSync(process.execPath, [jest, '-c', path.join(__dirname, 'jest.config.js'), '--runInBand'], {
  stdio: 'inherit',
  env: { ...process.env, FAULTS_QUICK: quick ? '1' : '0', FAULTS_REPORT: report },
});
try {
  process.stdout.write(`\n${readFileSync(report, 'utf8')}`);
} catch {
  console.error('the fault suite wrote no table');
}
rmSync(dir, { recursive: true, force: true });
process.exit(result.status ?? 1);
