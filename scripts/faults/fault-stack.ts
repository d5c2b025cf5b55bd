import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Store, createStore } from '@wa-sync/shared/store';
import { SimulatedAccount } from '../../services/session-runner/src/engine/simulated.account';
import { freePort } from '../../test/support/redis-server';
import { type ServiceProcess, startService } from '../../test/support/service-process';
import { waitFor } from '../../test/support/wait-for';

export type ServiceName = 'api' | 'session-runner' | 'sync-workers';
export const SERVICES: ServiceName[] = ['api', 'session-runner', 'sync-workers'];

/** The simulated account every session of the suite links: every message id is known in advance. */
export const ACCOUNT = { chats: 40, messagesPerChat: 60, limit: 40, seed: 11 };
const account = new SimulatedAccount({ chats: ACCOUNT.chats, messagesPerChat: ACCOUNT.messagesPerChat, seed: ACCOUNT.seed });
export const EXPECTED: Map<string, string[]> = new Map(
  account.listChats().map((c) => [c.id, account.latestMessages(c.id, ACCOUNT.limit).map((m) => m.id)]),
);

/** A redis-server that can be restarted on the same port, with its data (AOF) or without. */
class RestartableRedis {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
    child.stdout?.removeAllListeners('data');
    child.stdout?.resume();
    child.removeAllListeners('exit');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Stops it; without `keepData` its files are deleted first, as if it came back empty. */
  async restart(keepData: boolean): Promise<void> {
    await this.stop(keepData ? 'SIGTERM' : 'SIGKILL');
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
    await this.start();
  }
}

export interface FaultStackOptions {
  /** Extra environment for every service. */
  env?: Record<string, string>;
}

/**
 * The product as separate processes (api, session-runner, sync-workers, their own Redis), each
 * restartable and killable; an exit the suite did not cause is counted as a crash.
 */
export class FaultStack {
  readonly services = new Map<ServiceName, ServiceProcess>();
  crashes = 0;
  readonly crashLog: string[] = [];
  store!: Store;
  url = '';
  private readonly expectedExit = new Set<ServiceProcess>();
  private redis!: RestartableRedis;
  private dir = '';
  private env: Record<string, string> = {};
  private runAs: string | undefined;

  static async start(options: FaultStackOptions = {}): Promise<FaultStack> {
    const s = new FaultStack();
    s.dir = mkdtempSync(join(tmpdir(), 'wa-sync-faults-'));
    // FAULTS_RUN_AS=<uid> (through a row's env): the services run as that user, not root, so file
    // permissions hold (the read-only store row); the directory becomes theirs.
    const { FAULTS_RUN_AS: runAs, ...env } = options.env ?? {};
    if (runAs) {
      chownSync(s.dir, Number(runAs), Number(runAs));
      s.runAs = runAs;
    }
    s.redis = new RestartableRedis(await freePort(), join(s.dir, 'redis'));
    await s.redis.start();
    const port = await freePort();
    s.url = `http://127.0.0.1:${port}`;
    s.env = {
      REDIS_URL: s.redis.url,
      STORE_URL: `sqlite:${join(s.dir, 'wa-sync.db')}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      WA_ENGINE: 'simulated',
      SIM_CHATS: String(ACCOUNT.chats),
      SIM_MESSAGES_PER_CHAT: String(ACCOUNT.messagesPerChat),
      SIM_SEED: String(ACCOUNT.seed),
      SYNC_LIMIT_PER_CHAT: String(ACCOUNT.limit),
      SIM_FETCH_LATENCY_MS: '60',
      SIM_AUTO_SCAN_MS: '100',
      SYNC_CONCURRENCY: '4',
      JOB_LOCK_MS: '5000',
      STALLED_CHECK_MS: '2000',
      RATE_LIMIT_MAX: '100000',
      ...env,
    };
    if (runAs) s.env.WA_AUTH_DIR ??= join(s.dir, 'auth');
    for (const name of SERVICES) s.startService(name);
    await s.waitHealthy();
    s.store = await createStore(s.env.STORE_URL);
    return s;
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  get dataDir(): string {
    return this.dir;
  }

  get storeFile(): string {
    return this.env.STORE_URL.slice('sqlite:'.length);
  }

  startService(name: ServiceName): ServiceProcess {
    const proc = startService(name, this.env, { runAs: this.runAs });
    this.services.set(name, proc);
    void proc.exited.then((code) => {
      if (!this.expectedExit.has(proc)) {
        this.crashes += 1;
        this.crashLog.push(`${name} exited ${code}: ${proc.output().slice(-2000)}`);
      }
    });
    return proc;
  }

  /** kill -9, then the same service again (as a supervisor would restart it). */
  async kill9AndRestart(name: ServiceName, downMs = 300): Promise<void> {
    const proc = this.services.get(name)!;
    this.expectedExit.add(proc);
    await proc.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, downMs));
    this.startService(name);
  }

  async restartRedis(keepData: boolean): Promise<void> {
    await this.redis.restart(keepData);
  }

  /** Redis stopped (its data kept) for `downMs`, then started again; resolves once it answers. */
  async redisOutage(downMs: number): Promise<void> {
    await this.redis.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, downMs));
    await this.redis.start();
  }

  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor('the API to answer /readyz', async () => (await fetch(`${this.url}/readyz`).catch(() => null))?.ok, timeoutMs);
  }

  alive(name: ServiceName): boolean {
    const proc = this.services.get(name)!;
    return proc.child.exitCode === null && proc.child.signalCode === null;
  }

  /** Expected ids missing from the store, and rows stored more than once, for a session. */
  async audit(sessionId: string): Promise<{ lost: number; duplicated: number }> {
    let lost = 0;
    let duplicated = 0;
    for (const [chatId, expected] of EXPECTED) {
      const ids: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await this.store.listMessages(sessionId, chatId, { limit: 500, ...(before ? { before } : {}) });
        ids.push(...page.items.map((m) => m.id));
        if (!page.nextCursor) break;
        before = page.nextCursor;
      }
      const stored = new Set(ids);
      duplicated += ids.length - stored.size;
      lost += expected.filter((id) => !stored.has(id)).length;
      const chat = await this.store.getChat(sessionId, chatId);
      if (chat && chat.messageCount > stored.size) duplicated += chat.messageCount - stored.size;
    }
    return { lost, duplicated };
  }

  /** Until every expected message of the session is stored (or the timeout): the recovery time. */
  async waitComplete(sessionId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.audit(sessionId).catch(() => ({ lost: 1 }))).lost === 0) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** Writes each service's output (the current process of each) into `dir`, for a failed row. */
  saveLogs(dir: string, prefix: string): void {
    mkdirSync(dir, { recursive: true });
    for (const [name, proc] of this.services) writeFileSync(join(dir, `${prefix}-${name}.log`), proc.output());
  }

  async stop(): Promise<void> {
    for (const proc of this.services.values()) {
      this.expectedExit.add(proc);
      await proc.stop('SIGTERM');
    }
    await this.store?.close();
    await this.redis?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
