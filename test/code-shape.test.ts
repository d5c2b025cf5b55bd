/**
 * The code's shape, checked so it stays: files named `<thing>.<role>.ts` (docs/code-shape.md), and
 * imports of the shared package through its subpaths, so a file's imports say what it depends on.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = join(__dirname, '..');
const tracked = execFileSync('git', ['ls-files', '*.ts'], { cwd: root }).toString().split('\n').filter(Boolean);
/** Entry points: a process's start, its environment, a package's public faces. */
const ENTRY_POINTS = new Set(['main.ts', 'env.ts', 'index.ts', 'contracts.ts', 'runtime.ts']);
const SOURCE_DIRS = /^(packages\/[^/]+\/src|services\/[^/]+\/src|services\/api\/dashboard\/src)\//;

it('names every source file <thing>.<role>.ts, apart from entry points', () => {
  const off = tracked
    .filter((f) => SOURCE_DIRS.test(f) && !ENTRY_POINTS.has(basename(f)))
    .filter((f) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+\.ts$/.test(basename(f)));
  expect(off).toEqual([]);
});

it('imports @wa-sync/shared through its subpaths only', () => {
  const rootImports = tracked.filter((f) => /from '@wa-sync\/shared'|require\('@wa-sync\/shared'\)/.test(readFileSync(join(root, f), 'utf8')));
  expect(rootImports).toEqual([]);
});

it('keeps every source file in packages/ and services/, the bench and the fault suite under 400 lines, contract suites and tests aside', () => {
  const MAX_LINES = 400;
  const long = execFileSync('git', ['ls-files', 'packages', 'services', 'scripts/bench.js', 'scripts/faults'], { cwd: root })
    .toString()
    .split('\n')
    .filter((f) => /\.(ts|tsx|js|mjs|cjs)$/.test(f) && !/\.(test|contract)\.ts$/.test(f))
    .map((f) => ({ f, lines: readFileSync(join(root, f), 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ f, lines }) => `${f}: ${lines} lines (split it by what it does)`);
  expect(long).toEqual([]);
});

const apiSources = tracked.filter((f) => f.startsWith('services/api/src/') && !f.endsWith('.test.ts'));

it('validates API requests in route schemas: no parseRequest( in a route file', () => {
  const offenders = apiSources.filter((f) => f.endsWith('.routes.ts') && readFileSync(join(root, f), 'utf8').includes('parseRequest('));
  expect(offenders).toEqual([]);
});

it('builds the SSE hub on src/stream/, never on files of ws/', () => {
  const offenders = apiSources.filter((f) => f.startsWith('services/api/src/sse/') && /from '\.\.\/ws\//.test(readFileSync(join(root, f), 'utf8')));
  expect(offenders).toEqual([]);
});

/** Source files of packages/ and services/ (tests aside when `tests` is false), with their text. */
function sources({ tests }: { tests: boolean }): Array<{ file: string; text: string }> {
  return tracked
    .filter((f) => SOURCE_DIRS.test(f) && (tests || !/\.test\.ts$/.test(f)))
    .map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
}

it("touches a sync's Redis keys only in the sync ledger (sync-ledger.store.ts)", () => {
  // Every key of a sync's life, as named in redis.keys.ts; tests may look at them, code goes through SyncLedger.
  const syncKey = /\bKeys\.(syncProgress|syncFinished|activeSync|syncRequest|pendingSync|lastSync|catchUpGaps|sessionReady|staging|stagedChats|fetchStats)\b/;
  const outside = sources({ tests: false })
    .filter(({ file, text }) => !file.endsWith('/sync-ledger.store.ts') && syncKey.test(text))
    .map(({ file }) => file);
  expect(outside).toEqual([]);
});

it('defines Lua commands only in the script registry (script.registry.ts), and runs no ad-hoc EVAL', () => {
  const outside = sources({ tests: true })
    .filter(({ file, text }) => !file.endsWith('/script.registry.ts') && /\bdefineCommand\(|\.eval\(|\.evalsha\(/.test(text))
    .map(({ file }) => file);
  expect(outside).toEqual([]);
});

it('never casts job.data: catalog workers hand out typed jobs', () => {
  const casts = sources({ tests: true })
    .filter(({ text }) => /\bjob\.data\s+as\b/.test(text))
    .map(({ file }) => file);
  expect(casts).toEqual([]);
});
