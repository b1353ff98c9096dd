// `kite server`: runs a cluster's control plane in the foreground. `kite up` starts this
// same command detached, with its output going to the cluster's server.log.
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { ControlPlaneOptions } from '../../server/control-plane.js';
import { loadOrCreateClusterPKI } from '../../machinery/pki.js';
import { readClusterState, serverURL, writeClusterState } from '../cluster.js';
import { CliError, errorMessage } from '../errors.js';
import { checkHollowNodes, startHollowNodes } from '../hollow.js';
import { clusterPaths, clusterPathsIn, validateClusterName } from '../paths.js';
import { isKiteServer, readPidFile, removePidFile, writePidFile } from '../process.js';
import { openServerStore, type StoreFlags } from './store.js';

export interface ServerOptions {
  name: string;
  /** The cluster directory; default $KITE_HOME/NAME. */
  dataDir?: string;
  apiPort: number;
  bindAddress: string;
  hollowNodes: number;
  /** k3s-style registries file for the node's containerd; default <cluster dir>/registries.yaml (when present) */
  registries?: string;
  /** --store / --etcd-*: which store to open (default: what the cluster used last, else SQLite). */
  storeFlags?: StoreFlags;
}

type StartControlPlane = (opts: ControlPlaneOptions) => Promise<{ port: number; close(): Promise<void> }>;

/**
 * The control plane implementation: the real one, or the health-only stub when
 * KITE_CONTROL_PLANE=stub (tests). Loaded lazily so other subcommands start fast.
 */
async function loadControlPlane(): Promise<StartControlPlane> {
  if (process.env.KITE_CONTROL_PLANE === 'stub') return (await import('../stub-control-plane.js')).startStubControlPlane;
  return (await import('../../server/control-plane.js')).startControlPlane;
}

/** How long a graceful shutdown may take before the process exits anyway (node cleanup included). */
const SHUTDOWN_TIMEOUT_MS = 45_000;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

/** Extra certificate names so clients can dial a specific bind address. */
export function bindAddressSANs(bindAddress: string): { dnsNames: string[]; ipAddresses: string[] } {
  if (bindAddress === '' || bindAddress === '0.0.0.0' || bindAddress === '::') return { dnsNames: [], ipAddresses: [] };
  return isIP(bindAddress) ? { dnsNames: [], ipAddresses: [bindAddress] } : { dnsNames: [bindAddress], ipAddresses: [] };
}

/** This host's node (agent/), unless the stub control plane runs (CLI tests). */
async function startNode(clusterName: string, clusterDir: string, server: string, ca: { cert: string; key: string }, registries: string): Promise<{ close(): Promise<void> }> {
  if (process.env.KITE_CONTROL_PLANE === 'stub') return { close: async () => {} };
  const { startAgent } = await import('../../agent/node.js');
  return startAgent({ clusterName, clusterDir, server, ca, registries, log });
}

/**
 * Starts the control plane and returns once it is serving; the process then stays up
 * until SIGTERM/SIGINT, which close it down and exit.
 */
export async function runServer(opts: ServerOptions): Promise<void> {
  const name = validateClusterName(opts.name);
  checkHollowNodes(opts.hollowNodes);
  const paths = opts.dataDir ? clusterPathsIn(opts.dataDir) : clusterPaths(name);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });

  const other = readPidFile(paths.pid);
  if (other !== undefined && other !== process.pid && isKiteServer(other)) {
    throw new CliError(`cluster "${name}" is already running (pid ${other})`);
  }
  writePidFile(paths.pid, process.pid);
  log(`kite server "${name}" starting (pid ${process.pid}, directory ${paths.dir})`);

  try {
    const startControlPlane = await loadControlPlane();
    const pki = await loadOrCreateClusterPKI(paths.pki, bindAddressSANs(opts.bindAddress));
    mkdirSync(paths.data, { recursive: true, mode: 0o700 });
    const store = await openServerStore(opts.storeFlags ?? {}, paths, pki.ca, log);
    const { localNodeName } = await import('../../kubelet/local-node.js');
    const { parseAuthorizationMode } = await import('../../server/policy.js');
    const controlPlane = await startControlPlane({
      store: store.opened?.store,
      controlPlaneNodes: [localNodeName(name)],
      // KITE_AUTHORIZATION_MODE=AlwaysAllow: upstream's --authorization-mode=AlwaysAllow (benchmarks).
      authorizationMode: parseAuthorizationMode(process.env.KITE_AUTHORIZATION_MODE),
      name,
      dataDir: paths.data,
      port: opts.apiPort,
      bindAddress: opts.bindAddress,
      tls: { caCert: pki.ca.cert, caKey: pki.ca.key, cert: pki.apiserver.cert, key: pki.apiserver.key },
      serviceAccountKeys: pki.serviceAccount,
      // The API server's own identity toward kubelets (kube-apiserver-kubelet-client).
      kubeletClient: { cert: pki.kubeletClient.cert, key: pki.kubeletClient.key },
    }).catch(async (err) => {
      await store.opened?.close();
      throw err;
    });
    const url = serverURL(opts.bindAddress, controlPlane.port);
    const previous = readClusterState(paths);
    writeClusterState(paths, {
      ...previous,
      name,
      apiPort: controlPlane.port,
      bindAddress: opts.bindAddress,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
      ...store.state,
    });
    log(`API server listening on ${url}`);

    const hollow = await startHollowNodes(opts.hollowNodes, { clusterName: name, server: url, pki });

    // This host's node: a private containerd and a kubelet child (in the background:
    // the API server is already serving).
    const node = await startNode(name, paths.dir, url, pki.ca, opts.registries ? resolve(opts.registries) : join(paths.dir, 'registries.yaml'));

    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) {
        log(`${signal} again: exiting immediately`);
        process.exit(1);
      }
      stopping = true;
      log(`${signal} received: shutting down`);
      const timer = setTimeout(() => {
        log(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000}s: exiting`);
        removePidFile(paths.pid, process.pid);
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      (async () => {
        let code = 0;
        for (const [what, close] of [
          ['hollow nodes', () => hollow.close()],
          ['node', () => node.close()],
          ['control plane', () => controlPlane.close()],
          ['store', async () => store.opened?.close()],
        ] as const) {
          try {
            await close();
          } catch (err) {
            code = 1;
            log(`error stopping ${what}: ${errorMessage(err)}`);
          }
        }
        removePidFile(paths.pid, process.pid);
        log('stopped');
        process.exit(code);
      })();
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  } catch (err) {
    removePidFile(paths.pid, process.pid);
    throw err;
  }
}
