/**
 * The compose file deploys as the issue asks. No Docker engine here: the file is parsed (YAML
 * merge keys resolved, as `docker compose config` does) and its settings checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..');
type Service = {
  image?: string;
  profiles?: string[];
  build?: unknown;
  init?: boolean;
  stop_grace_period?: string;
  command?: string[];
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  deploy?: { replicas?: number };
};
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const app = ['api', 'session-runner', 'sync-workers'];

/** A value as compose reads it when the variable is not set: `${VAR:-default}` → `default`. */
function unset(value: unknown): string {
  return String(value).replace(/^\$\{\w+:-(.*)\}$/, '$1');
}

function seconds(duration: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`unparsed duration ${duration}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2]];
}

describe('docker-compose.yml', () => {
  it('refuses to start without API_KEY', () => {
    for (const name of app) expect(String(compose.services[name].environment?.API_KEY)).toMatch(/^\$\{API_KEY:\?.+\}$/);
  });

  it('passes the access, delivery and S3 settings through from the shell, and only when set there', () => {
    const passed = ['API_KEYS', 'TOKEN_SECRET', 'WEBHOOK_SECRET_KEY', 'AMQP_URL', 'WEBHOOK_URL', 'WEBHOOK_SECRET', 'WEBHOOK_EVENTS', 'WEBHOOK_ALLOWED_HOSTS', 'S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
    for (const name of app) {
      const env = compose.services[name].environment ?? {};
      // A key with no value: compose copies the variable from its own environment, or leaves it out.
      for (const key of passed) expect({ key, value: env[key] }).toEqual({ key, value: null });
    }
  });

  it('waits for healthy dependencies; the API is healthy only when /readyz says so', () => {
    for (const name of app) {
      const deps = compose.services[name].depends_on ?? {};
      expect(Object.keys(deps).sort()).toEqual(expect.arrayContaining(['mongo', 'redis']));
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(condition).toBe('service_healthy');
        expect(compose.services[dep].healthcheck).toBeDefined();
      }
    }
    expect(compose.services.api.healthcheck?.test.join(' ')).toContain('/readyz');
  });

  it('gives every service time to shut down cleanly, with an init for Chromium', () => {
    for (const name of app) {
      const s = compose.services[name];
      expect(s.init).toBe(true);
      const shutdownMs = Number(s.environment?.SHUTDOWN_TIMEOUT_MS ?? 15_000);
      expect(seconds(s.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(shutdownMs);
    }
  });

  it('Redis keeps its data (AOF) and never evicts; MongoDB is the store', () => {
    const cmd = compose.services.redis.command?.join(' ') ?? '';
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(compose.services.mongo).toBeDefined();
    for (const name of app) expect(unset(compose.services[name].environment?.STORE_URL)).toMatch(/^mongodb:\/\/mongo:27017\//);
  });

  it('has a postgres profile: a PostgreSQL server with its volume, waited for by every process when the profile is on', () => {
    const pg = compose.services.postgres;
    expect(pg.profiles).toEqual(['postgres']);
    expect(pg.image).toMatch(/^postgres:1[4-9]/);
    expect(pg.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
    const mount = pg.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(Object.keys(compose.volumes)).toContain(mount?.split(':')[0]);
    for (const name of app) {
      // Not required: without the profile the service does not exist, and the stack runs on MongoDB.
      expect(compose.services[name].depends_on?.postgres).toEqual({ condition: 'service_healthy', required: false });
      // STORE_URL may name it instead of MongoDB, and the store accepts the URL the file's comment gives.
      expect(String(compose.services[name].environment?.STORE_URL)).toMatch(/^\$\{STORE_URL:-/);
    }
    const { POSTGRES_USER: user, POSTGRES_DB: db } = pg.environment ?? {};
    const documented = /STORE_URL=(postgres:\/\/\S+)/.exec(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))?.[1];
    expect(documented).toMatch(new RegExp(`^postgres://${user}:[^@]+@postgres:5432/${db}$`));
  });

  it('runs two session runners sharing a writable auth volume, and two sync workers', () => {
    const runner = compose.services['session-runner'];
    expect(runner.deploy?.replicas).toBe(2);
    expect(compose.services['sync-workers'].deploy?.replicas).toBe(2);
    const authDir = String(runner.environment?.WA_AUTH_DIR);
    const mount = runner.volumes?.find((v) => v.endsWith(`:${authDir}`));
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(mount!.split(':')[0]);
    // A new named volume copies the image directory's owner: node must own it in the image.
    expect(dockerfile).toMatch(new RegExp(`mkdir -p ${authDir}.*chown -R node:node`));
    expect(dockerfile.indexOf('chown -R node:node')).toBeLessThan(dockerfile.indexOf('USER node'));
  });

  it('gives the runners (which write media files) and the API (which serves them) the same media volume', () => {
    const dir = unset(compose.services.api.environment?.MEDIA_URL).replace(/^file:/, '');
    for (const name of ['api', 'session-runner']) {
      expect(compose.services[name].volumes?.find((v) => v.endsWith(`:${dir}`))?.split(':')[0]).toBe('wa-media');
    }
    expect(Object.keys(compose.volumes)).toContain('wa-media');
    expect(dockerfile).toMatch(new RegExp(`mkdir -p [^\\n]*${dir}.*chown -R node:node`));
  });

  it('builds the image on a supported Node LTS', () => {
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBeGreaterThan(0);
    for (const major of froms) expect([22, 24]).toContain(major);
  });
});
