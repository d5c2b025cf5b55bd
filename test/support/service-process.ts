import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { waitFor } from './wait-for';

const ROOT = resolve(__dirname, '../..');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Everything it wrote (JSON log lines and stderr). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once a line of its output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * One built service (`services/<name>/dist/main.js`) as its own process, as `npm start` runs it,
 * with exactly the given environment on top of PATH/HOME. Needs `npx tsc -b` first.
 */
/** Media files go beside the test's SQLite file (or into the temp directory), never into the repository's ./data. */
function mediaUrlBeside(env: Record<string, string>): string {
  const sqlite = /^sqlite:(.+)$/.exec(env.STORE_URL ?? '');
  return `file:${sqlite && sqlite[1] !== ':memory:' ? join(dirname(sqlite[1]), 'media') : join(tmpdir(), 'wa-sync-test-media')}`;
}

export function startService(
  name: 'api' | 'session-runner' | 'sync-workers',
  env: Record<string, string>,
  /** Run as this user (not root), through `setpriv`: file permissions then hold as in production. */
  options: { runAs?: string } = {},
): ServiceProcess {
  const main = join(ROOT, 'services', name, 'dist', 'main.js');
  const [cmd, args] = options.runAs
    ? ['setpriv', [`--reuid=${options.runAs}`, `--regid=${options.runAs}`, '--clear-groups', process.execPath, main]]
    : [process.execPath, [main]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', MEDIA_URL: mediaUrlBeside(env), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    name,
    child,
    output: () => out,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      await waitFor(
        `${name} output matching ${pattern}`,
        () => {
          if (child.exitCode !== null && !pattern.test(out)) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
          return pattern.test(out);
        },
        timeoutMs,
        () => out,
      );
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * The services one test starts, on one environment (`env`, set before the first start), each
 * with its own extras: `logs()` is the tail of each one's output, for a failure's message.
 */
export class ServiceGroup {
  readonly procs: ServiceProcess[] = [];
  env: Record<string, string> = {};

  start(name: 'api' | 'session-runner' | 'sync-workers', extra: Record<string, string> = {}): ServiceProcess {
    const p = startService(name, { ...this.env, ...extra });
    this.procs.push(p);
    return p;
  }

  logs(): string {
    return this.procs.map((p) => `${p.name}: ${p.output().slice(-1500)}`).join('\n');
  }

  async killAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop('SIGKILL')));
  }
}
