import { type Server, type Socket, createServer, connect } from 'node:net';
import { freePort } from './redis-server';

/**
 * A TCP proxy on a fixed local port in front of a real server (the test broker, a Redis): `stop()`
 * closes the port and cuts every connection, as an outage would, without touching the server;
 * `start()` opens it again on the same port; `pause()` stalls the requests until `resume()`.
 */
export class TcpProxy {
  private server: Server | null = null;
  /** Each open connection: its client side and its upstream. */
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private paused = false;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async open(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.start();
    return proxy;
  }

  /** `amqp://user:pass@127.0.0.1:<proxy port>` for an `amqp://` target URL. */
  url(targetUrl: string): string {
    const u = new URL(targetUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get running(): boolean {
    return this.server !== null;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target);
      for (const s of [client, upstream]) s.on('error', () => undefined);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      // A connection made while paused starts stalled too.
      if (this.paused) client.pause();
      else client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stalls every connection's requests (nothing is cut: they wait in the proxy, as on a stalled network). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      client.pause();
    }
  }

  /** Lets the stalled requests through, in order. A second call does nothing (a second pipe would send everything twice). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const { client, upstream } of this.pairs) client.pipe(upstream);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.paused = false;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
