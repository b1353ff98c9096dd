// A kite cluster as the CLI sees it: its directory, remembered settings, whether its
// server is running, and how to reach it. Later subcommands (`kite node add`,
// `kite image load`) start from openCluster()/requireRunning().
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { isIPv6 } from 'node:net';
import type { ExternalEtcd, StoreKind } from '../store/open.js';
import { CliError } from './errors.js';
import { clusterPaths, clusterPathsIn, kiteHome, validateClusterName, type ClusterPaths } from './paths.js';
import { isAlive, readPidFile, removePidFile, sleep } from '../machinery/process.js';
import { isKiteServer } from './process.js';

/** What cluster.json remembers between runs. */
export interface ClusterState {
  name: string;
  apiPort: number;
  bindAddress: string;
  createdAt?: string;
  /** Reserved for `--hollow-nodes`: how many simulated nodes the server runs. */
  hollowNodes?: number;
  /** The user kubeconfig `kite up` merged the context into (cleaned on `kite down --purge`). */
  userKubeconfig?: string;
  /** The store backend (default sqlite); `kite up` resumes on the same one. */
  store?: StoreKind;
  /** An existing etcd cluster the server uses instead of its own (`kite server --etcd-servers`). */
  etcd?: ExternalEtcd;
  /** Real nodes besides the control plane's (`kite up --nodes`, `kite node add|rm`); the server runs these. */
  workers?: string[];
  /** API servers `kite up` runs (more than one: behind a load balancer on apiPort). */
  servers?: number;
  /** Workers that are stopped (`kite node stop`): kept in `workers`, not run. */
  stoppedWorkers?: string[];
  /** How pods reach nodes on other machines (`kite up --pod-network`; default vxlan). */
  podNetwork?: 'vxlan' | 'host-gw';
}

export type ClusterStatus = { state: 'running'; pid: number } | { state: 'stopped' };

export interface Cluster {
  name: string;
  paths: ClusterPaths;
}

export function openCluster(name: string): Cluster {
  return { name: validateClusterName(name), paths: clusterPaths(name) };
}

export function clusterExists(c: Cluster): boolean {
  return existsSync(c.paths.state) || existsSync(c.paths.pki);
}

export function readClusterState(paths: ClusterPaths): ClusterState | undefined {
  if (!existsSync(paths.state)) return undefined;
  try {
    const s = JSON.parse(readFileSync(paths.state, 'utf8')) as ClusterState;
    return typeof s.apiPort === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeClusterState(paths: ClusterPaths, state: ClusterState): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  writeFileSync(paths.state, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
}

/** Running when the pid file names a live `kite server`; a stale pid file is removed. */
export function clusterStatus(paths: ClusterPaths): ClusterStatus {
  const pid = readPidFile(paths.pid);
  if (pid === undefined) return { state: 'stopped' };
  if (isKiteServer(pid)) return { state: 'running', pid };
  removePidFile(paths.pid, pid);
  return { state: 'stopped' };
}

/** Names of all clusters under $KITE_HOME, sorted. */
export function listClusterNames(): string[] {
  const home = kiteHome();
  if (!existsSync(home)) return [];
  return readdirSync(home, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .filter((n) => {
      const p = clusterPathsIn(`${home}/${n}`);
      return existsSync(p.state) || existsSync(p.pki);
    })
    .sort();
}

/** The cluster's settings, failing clearly when it is not running (for later subcommands). */
export function requireRunning(c: Cluster): ClusterState & { pid: number } {
  const status = clusterStatus(c.paths);
  const state = readClusterState(c.paths);
  if (!clusterExists(c)) throw new CliError(`no cluster named "${c.name}" (see \`kite list\`)`);
  if (status.state !== 'running' || !state) {
    throw new CliError(`cluster "${c.name}" is not running (start it with \`kite up --name ${c.name}\`)`);
  }
  return { ...state, pid: status.pid };
}

// ---------------------------------------------------------------------------------------
// Reaching the API server

/** The address a local client dials for a server bound to `bindAddress`. */
export function connectHost(bindAddress: string): string {
  if (bindAddress === '' || bindAddress === '0.0.0.0' || bindAddress === '::') return '127.0.0.1';
  return bindAddress;
}

export function serverURL(bindAddress: string, port: number): string {
  const host = connectHost(bindAddress);
  return `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

export interface ClientTLS {
  ca: string;
  cert: string;
  key: string;
}

/** One GET over mutual TLS; resolves with status and body. */
export function httpsGet(url: string, tls: ClientTLS, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Between two asks of /readyz: on a keep-alive connection each is a few lines of work for the server, and `kite up` waits on it. */
const READY_POLL_MS = 50;

/**
 * Polls `${server}/readyz` until it answers 200. Stops early when `aborted()` returns
 * a reason (e.g. the server process exited). Throws with the last error on timeout.
 */
export async function waitForReady(
  server: string,
  tls: ClientTLS,
  timeoutMs: number,
  aborted: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  while (true) {
    const why = aborted();
    if (why) throw new Error(why);
    try {
      const res = await httpsGet(`${server}/readyz`, tls, 2000);
      if (res.status === 200) return;
      last = `/readyz answered ${res.status}: ${res.body.trim().split('\n').slice(-1)[0] ?? ''}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`the API server did not become ready within ${Math.round(timeoutMs / 1000)}s (${last})`);
    }
    await sleep(READY_POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------
// Logs and locking

/** The last `lines` lines of `path` from byte `fromOffset` on. */
export function logTail(path: string, fromOffset = 0, lines = 20): string[] {
  try {
    const text = readFileSync(path).subarray(fromOffset).toString('utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-lines);
  } catch {
    return [];
  }
}

function fileMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Holds the cluster's lock file while `fn` runs so two `kite up`/`kite down` for the
 * same cluster cannot interleave. A lock whose owner died is taken over.
 */
export async function withClusterLock<T>(paths: ClusterPaths, fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  while (true) {
    try {
      const fd = openSync(paths.lock, 'wx', 0o644);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readPidFile(paths.lock);
      // An empty lock file may be one its owner has not written its pid into yet.
      const abandoned = owner === undefined ? Date.now() - fileMtime(paths.lock) > 2000 : !isAlive(owner);
      if (abandoned) {
        try {
          unlinkSync(paths.lock);
        } catch {
          /* someone else took it over first */
        }
        continue;
      }
      if (Date.now() >= deadline) {
        throw new CliError(`cluster is busy: another kite command (pid ${owner}) holds ${paths.lock}`);
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    removePidFile(paths.lock, process.pid);
  }
}
