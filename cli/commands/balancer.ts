// `kite balancer`: the address a cluster with several API servers (`kite up --servers N`)
// is reached at: a TCP load balancer on the cluster's API port in front of its servers,
// so kubectl and the node keep working while any of them lives. `kite up` starts it
// detached (balancer.log, balancer.pid); `kite down` stops it.
import { join } from 'node:path';
import { parseBackend, TcpLoadBalancer } from '../../machinery/tcp-balancer.js';
import { clusterPaths, validateClusterName, type ClusterPaths } from '../paths.js';
import { removePidFile, writePidFile } from '../../machinery/process.js';

export interface BalancerOptions {
  name: string;
  port: number;
  bindAddress: string;
  /** API server addresses (host:port or https://host:port). */
  backends: string[];
}

export function balancerPidFile(paths: ClusterPaths): string {
  return join(paths.dir, 'balancer.pid');
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

export async function runBalancer(opts: BalancerOptions): Promise<void> {
  const paths = clusterPaths(validateClusterName(opts.name));
  const backends = opts.backends.map(parseBackend);
  const lb = new TcpLoadBalancer(backends);
  const port = await lb.listen(opts.port, opts.bindAddress);
  const pidFile = balancerPidFile(paths);
  writePidFile(pidFile, process.pid);
  log(`balancer for "${opts.name}" on ${opts.bindAddress}:${port} → ${backends.map((b) => `${b.host}:${b.port}`).join(', ')}`);
  const stop = (signal: string) => {
    log(`${signal} received: stopping`);
    void lb.close().finally(() => {
      removePidFile(pidFile, process.pid);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
