// Where kite keeps its clusters: $KITE_HOME (default ~/.kite), one directory per
// cluster holding its PKI, control-plane data, log, pid file, state and kubeconfig.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError } from './errors.js';

export const DEFAULT_CLUSTER_NAME = 'kite';
export const DEFAULT_API_PORT = 6443;
export const DEFAULT_BIND_ADDRESS = '127.0.0.1';

export function kiteHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KITE_HOME || join(env.HOME || homedir(), '.kite'));
}

export interface ClusterPaths {
  /** The cluster directory. */
  dir: string;
  /** Certificates and keys (see machinery/pki.ts). */
  pki: string;
  /** The control plane's own state (ControlPlaneOptions.dataDir). */
  data: string;
  log: string;
  pid: string;
  /** cluster.json: remembered settings such as the API port. */
  state: string;
  kubeconfig: string;
  /** Held while `kite up`/`kite down` change the cluster. */
  lock: string;
}

export function clusterPathsIn(dir: string): ClusterPaths {
  const d = resolve(dir);
  return {
    dir: d,
    pki: join(d, 'pki'),
    data: join(d, 'data'),
    log: join(d, 'server.log'),
    pid: join(d, 'server.pid'),
    state: join(d, 'cluster.json'),
    kubeconfig: join(d, 'kubeconfig'),
    lock: join(d, '.lock'),
  };
}

export function clusterPaths(name: string, env: NodeJS.ProcessEnv = process.env): ClusterPaths {
  return clusterPathsIn(join(kiteHome(env), name));
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;

/** Cluster names become directory names and kubeconfig entries (`kite-NAME`): keep them DNS-label-like. */
export function validateClusterName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new CliError(
      `invalid cluster name "${name}": use 1-50 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}
