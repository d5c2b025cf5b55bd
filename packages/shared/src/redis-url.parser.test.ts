import { BaseEnv } from './env';
import { parseRedisUrl, redactRedisUrl } from './redis-url.parser';
import { SteadySentinelConnector } from './sentinel.connector';

describe('parseRedisUrl', () => {
  it('passes redis:// and rediss:// to ioredis unchanged', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ url: 'redis://127.0.0.1:6380/2' });
    expect(parseRedisUrl('rediss://:pw@h:6380')).toEqual({ url: 'rediss://:pw@h:6380' });
  });

  it('turns redis+sentinel:// into ioredis Sentinel options', () => {
    const { options } = parseRedisUrl('redis+sentinel://:s%40cret@10.0.0.1:26379,sentinel-b:26380,[::1]/mymaster?sentinelPassword=sp');
    expect(options).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
        { host: '::1', port: 26379 },
      ],
      name: 'mymaster',
      role: 'master',
      db: 0,
      password: 's@cret',
      sentinelPassword: 'sp',
      failoverDetector: true,
      Connector: SteadySentinelConnector,
    });
    expect(options?.username).toBeUndefined();
    expect(options?.tls).toBeUndefined();
    // Never null: ioredis would stop asking the sentinels. Capped at 2 s.
    expect(options?.sentinelRetryStrategy?.(1)).toBe(100);
    expect(options?.sentinelRetryStrategy?.(1000)).toBe(2000);
    expect(options?.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(options?.reconnectOnError?.(new Error('ERR other'))).toBe(false);
  });

  it('reads the db from the path or the query, a username, and TLS from rediss+sentinel', () => {
    expect(parseRedisUrl('redis+sentinel://h:1/m/3').options).toMatchObject({ db: 3, name: 'm' });
    expect(parseRedisUrl('redis+sentinel://h:1/m?db=5').options).toMatchObject({ db: 5 });
    expect(parseRedisUrl('redis+sentinel://app:pw@h:1/m').options).toMatchObject({ username: 'app', password: 'pw' });
    expect(parseRedisUrl('rediss+sentinel://h:1/m').options).toMatchObject({ tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true });
  });

  it.each([
    ['http://h:1/m', /redis:\/\/, rediss:\/\/ or redis\+sentinel/],
    ['redis+sentinel://h:1', /master group name is missing/],
    ['redis+sentinel://h:1/', /master group name is missing/],
    ['redis+sentinel:///m', /at least one sentinel/],
    ['redis+sentinel://h:1,,h:2/m', /at least one sentinel/],
    ['redis+sentinel://h:99999/m', /bad port/],
    ['redis+sentinel://h:x/m', /bad sentinel address/],
    ['redis+sentinel://h:1/m/x', /db must be a whole number/],
    ['redis+sentinel://h:1/m/1/2', /expected \/<master> or \/<master>\/<db>/],
    ['redis+sentinel://h:1/m?sentinelpassword=x', /unknown parameter "sentinelpassword"/],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('a bad REDIS_URL stops the service at boot with the reason', () => {
    const bad = BaseEnv.safeParse({ REDIS_URL: 'redis+sentinel://h:1' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/REDIS_URL.*master group name is missing|master group name is missing/);
    expect(BaseEnv.safeParse({ REDIS_URL: 'redis+sentinel://a:1,b:2/m' }).success).toBe(true);
  });

  it('redacts passwords for logs', () => {
    expect(redactRedisUrl('redis+sentinel://:pw@h:1,h:2/m?sentinelPassword=sp&db=1')).toBe('redis+sentinel://:***@h:1,h:2/m?sentinelPassword=***&db=1');
    expect(redactRedisUrl('redis://u:pw@h:1')).toBe('redis://u:***@h:1');
  });
});
