// Picking free TCP ports (the API server's, the kubelet's), and listening on them.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * True when nothing listens on host:port (we could bind it right now); false when it is
 * taken (or privileged). Other failures, e.g. an address this host does not have, throw.
 */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * The first port from `start` upward that is free on `host` and not in `avoid`
 * (e.g. ports remembered by other, stopped clusters).
 */
export async function findFreePort(start: number, host: string, avoid: ReadonlySet<number> = new Set()): Promise<number> {
  for (let port = start; port <= 65535 && port < start + 1000; port++) {
    if (avoid.has(port)) continue;
    if (await isPortFree(port, host)) return port;
  }
  throw new Error(`no free port found in ${start}-${Math.min(65535, start + 999)} on ${host}`);
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid port "${value}" (want 1-65535)`);
  }
  return port;
}

/**
 * The accept queue a listener asks for: the kernel's own limit (net.core.somaxconn, 4096 on
 * current kernels), as Go's net.Listen does for kube-apiserver. Node's default, 511, overflows
 * when a few thousand clients connect at once (a burst of informers, kubectl loops), and an
 * overflowed connection is not refused but left half-made: its client thinks it is open, and
 * its FIN (when the client gives up) is retransmitted with backoff until the server finally
 * accepts it, so the server learns of it tens of seconds late.
 */
const ACCEPT_BACKLOG = ((): number => {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : 4096;
  } catch {
    return 4096;
  }
})();

/** Listens on host:port (0: any free port) with the kernel's full accept queue; resolves with the port. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: ACCEPT_BACKLOG }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
