// Picking free TCP ports (the API server's, the kubelet's).
import { createServer } from 'node:net';

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
