// A small TCP load balancer in front of several API servers (as k3s's agents keep one
// on loopback): each connection goes to the next backend in turn; a backend that refuses
// or does not answer the connect is skipped for a while and the next one tried, so the
// address clients use keeps working while any server lives. Bytes pass through as they
// are (TLS and client certificates end at the API server).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOn } from './ports.js';

export interface Backend {
  host: string;
  port: number;
}

const CONNECT_TIMEOUT_MS = 3_000;
/** How long a backend that failed a connect is passed over (unless all are down). */
const DOWN_MS = 5_000;

export function parseBackend(s: string): Backend {
  const u = new URL(s.includes('://') ? s : `tcp://${s}`);
  const port = Number(u.port);
  if (!u.hostname || !(port > 0)) throw new Error(`invalid backend "${s}" (host:port or https://host:port)`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

export class TcpLoadBalancer {
  private backends: Backend[] = [];
  private readonly downUntil = new Map<string, number>();
  private next = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(backends: Backend[]) {
    this.setBackends(backends);
  }

  setBackends(backends: Backend[]): void {
    this.backends = [...backends];
  }

  /** Listens; resolves with the port. */
  listen(port: number, host: string): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return listenOn(server, port, host);
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  /** Backends in the order to try for the next connection: live ones round-robin, then those marked down. */
  private order(): Backend[] {
    const n = this.backends.length;
    const start = this.next++ % Math.max(n, 1);
    const rotated = [...this.backends.slice(start), ...this.backends.slice(0, start)];
    const now = Date.now();
    const up = rotated.filter((b) => (this.downUntil.get(`${b.host}:${b.port}`) ?? 0) <= now);
    return [...up, ...rotated.filter((b) => !up.includes(b))];
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    client.on('error', () => client.destroy());
    const candidates = this.order();
    const attempt = (i: number): void => {
      if (client.destroyed) return;
      if (i >= candidates.length) {
        client.destroy();
        return;
      }
      const b = candidates[i];
      const upstream = connect({ host: b.host, port: b.port });
      this.track(upstream);
      let connected = false;
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      upstream.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        this.downUntil.delete(`${b.host}:${b.port}`);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      });
      upstream.on('error', () => {
        clearTimeout(timer);
        if (connected) {
          client.destroy();
          return;
        }
        this.downUntil.set(`${b.host}:${b.port}`, Date.now() + DOWN_MS);
        upstream.destroy();
        attempt(i + 1);
      });
    };
    attempt(0);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
