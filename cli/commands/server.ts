// `kite server`: runs a cluster's control plane in the foreground. `kite up` starts this
// same command detached, with its output going to the cluster's server.log.
import { mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { ControlPlaneOptions } from '../../server/control-plane.js';
import type { PreparedNode } from '../../agent/node.js';
import { loadOrCreateClusterPKI, type ClusterPKI } from '../../machinery/pki.js';
import { readClusterState, serverURL, writeClusterState } from '../cluster.js';
import { CliError, errorMessage } from '../errors.js';
import { checkHollowNodes, startHollowNodes } from '../hollow.js';
import { clusterPaths, clusterPathsIn, validateClusterName, type ClusterPaths } from '../paths.js';
import { readPidFile, removePidFile, writePidFile } from '../../machinery/process.js';
import { isKiteServer } from '../process.js';
import { localNodeUnsupported } from '../../kubelet/util.js';
import { openServerStore, type StoreFlags } from './store.js';

/** The line the server logs once the cluster's certificates are on disk (`kite up` waits for it to read the admin's). */
export const CERTIFICATES_READY = 'certificates ready';

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
  /**
   * 0 (default): the cluster's first server (its own etcd, this host's node, cluster.json).
   * N > 0: one more API server of the cluster on the same etcd, with its own pid file and
   * data directory, no node.
   */
  serverIndex?: number;
  /** The API address this host's node uses (the load balancer of several servers); default this server's. */
  nodeServer?: string;
  /** vxlan (default) or host-gw; else the cluster's remembered choice. */
  podNetwork?: 'vxlan' | 'host-gw';
}

/** The pid file of the cluster's server with this index. */
export function serverPidFile(paths: ClusterPaths, index: number): string {
  return index ? join(paths.dir, `server-${index}.pid`) : paths.pid;
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

/** This host's node (agent/) on the runtime prepareNode started, unless there is none (the stub control plane, a later server). */
async function startNode(prepared: PreparedNode | undefined, clusterName: string, clusterDir: string, server: string, ca: { cert: string; key: string }, balanceApiServers: boolean, podNetwork: 'vxlan' | 'host-gw'): Promise<{ close(): Promise<void> }> {
  if (!prepared) return { close: async () => {} };
  const { startAgent } = await import('../../agent/node.js');
  return startAgent({ prepared, clusterName, clusterDir, server, ca, balanceApiServers, podNetwork, log });
}

interface Workers {
  reconcile(names: readonly string[], stopped?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The cluster's worker nodes on this host (agent/workers.ts), unless the stub control plane runs. */
async function startWorkers(o: { name: string; clusterDir: string; apiPort: number; bindAddress: string; url: string; pki: ClusterPKI; registries: string; apiServerBalancer: boolean; podNetwork: 'vxlan' | 'host-gw' }): Promise<Workers> {
  if (process.env.KITE_CONTROL_PLANE === 'stub') return { reconcile: async () => {}, close: async () => {} };
  const { WorkerNodes } = await import('../../agent/workers.js');
  const { HttpTransport } = await import('../../client/http-transport.js');
  const { hostIPv4 } = await import('../../server/control-plane.js');
  // Nodes live in their own network namespaces: they dial the host's address, where a
  // loopback-bound API server listens too.
  const loopback = o.bindAddress.startsWith('127.') || o.bindAddress === 'localhost' || o.bindAddress === '::1';
  const host = loopback || o.bindAddress === '0.0.0.0' || o.bindAddress === '::' || o.bindAddress === '' ? hostIPv4() : o.bindAddress;
  const transport = new HttpTransport({ server: o.url, caData: o.pki.ca.cert, certData: o.pki.admin.cert, keyData: o.pki.admin.key }, { component: 'kite-nodes' });
  const workers = new WorkerNodes({ clusterName: o.name, clusterDir: o.clusterDir, server: `https://${host}:${o.apiPort}`, ca: o.pki.ca, registries: o.registries, apiServerBalancer: o.apiServerBalancer, transport, log });
  // Nodes joined from other machines (`kite join`): this host routes their pod CIDRs
  // (host-gw); its own worker namespaces' routes are the workers' business.
  const { HostGwRoutes } = await import('../../agent/routes.js');
  const { localNodeName } = await import('../../kubelet/local-node.js');
  const underlayPrefix = () => {
    try {
      const u = JSON.parse(readFileSync(join(o.clusterDir, 'underlay.json'), 'utf8')) as { subnet: string };
      return u.subnet.split('.').slice(0, 3).join('.') + '.';
    } catch {
      return undefined;
    }
  };
  const routes = new HostGwRoutes({
    transport,
    selfName: localNodeName(o.name),
    skip: (n) => {
      // Over VXLAN (agent/vxlan.ts) when both ends have a VTEP.
      if (o.podNetwork === 'vxlan' && n.metadata?.annotations?.['flannel.alpha.coreos.com/backend-type'] === 'vxlan') return true;
      const prefix = underlayPrefix();
      return !!prefix && !!n.status?.addresses?.some((a) => a.type === 'InternalIP' && a.address.startsWith(prefix));
    },
    log,
  });
  routes.start();
  return {
    reconcile: (names, stopped) => workers.reconcile(names, stopped),
    async close() {
      await routes.stop();
      await workers.close();
      transport.close();
    },
  };
}

/**
 * Starts the control plane and returns once it is serving; the process then stays up
 * until SIGTERM/SIGINT, which close it down and exit.
 */
export async function runServer(opts: ServerOptions): Promise<void> {
  const name = validateClusterName(opts.name);
  checkHollowNodes(opts.hollowNodes);
  const base = opts.dataDir ? clusterPathsIn(opts.dataDir) : clusterPaths(name);
  const index = opts.serverIndex ?? 0;
  const paths: ClusterPaths = index ? { ...base, pid: serverPidFile(base, index), data: join(base.dir, `data-${index}`) } : base;
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });

  const other = readPidFile(paths.pid);
  if (other !== undefined && other !== process.pid && isKiteServer(other)) {
    throw new CliError(`cluster "${name}"${index ? ` server ${index}` : ''} is already running (pid ${other})`);
  }
  writePidFile(paths.pid, process.pid);
  log(`kite server "${name}" starting (pid ${process.pid}, directory ${paths.dir})`);

  // The certificates are made here, not by `kite up` (one writer), and first: their keys
  // are generated on the thread pool while the control plane's modules load.
  const pkiReady = loadOrCreateClusterPKI(paths.pki, bindAddressSANs(opts.bindAddress)).then((pki) => {
    log(CERTIFICATES_READY);
    return pki;
  });
  pkiReady.catch(() => undefined); // awaited below; a failure of loadControlPlane comes first
  // This host's node (the cluster's first server runs it, unless the stub control plane
  // runs: CLI tests): its containerd and images need nothing of the API server, and its
  // certificates only the CA, so they start now, beside the control plane.
  const registries = opts.registries ? resolve(opts.registries) : join(paths.dir, 'registries.yaml');
  const preparedNode =
    !index && process.env.KITE_CONTROL_PLANE !== 'stub'
      ? (await import('../../agent/node.js')).prepareNode({ clusterName: name, clusterDir: paths.dir, registries, ca: pkiReady.then((p) => p.ca), log })
      : undefined;
  let nodeTaken = false;
  try {
    // The host's kubelet thread loads its code beside the control plane's (only the first
    // server of a cluster with one runs it; with several the kubelet is a process of its
    // own, kubelet/local-node.ts; a node that cannot run here never takes it).
    const kubeletThreadExpected = preparedNode !== undefined && (readClusterState(paths)?.servers ?? 1) === 1 && localNodeUnsupported() === undefined;
    if (kubeletThreadExpected) {
      const { prewarmKubeletThread, hintKubeletThread } = await import('../../kubelet/thread-prewarm.js');
      prewarmKubeletThread();
      // Its CRI client connects as soon as containerd answers.
      preparedNode.runtime
        .then((rt) => rt?.containerd)
        .then((c) => c && hintKubeletThread({ criSocket: c.socket }))
        .catch(() => undefined);
    }
    const startControlPlane = await loadControlPlane();
    const pki = await pkiReady;
    mkdirSync(paths.data, { recursive: true, mode: 0o700 });
    const store = await openServerStore(opts.storeFlags ?? {}, paths, pki.ca, log, index > 0);
    const { localNodeName, reservePodCidr } = await import('../../kubelet/local-node.js');
    const { workerDirOf } = await import('../../agent/workers.js');
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
      // The aggregator's identity towards aggregated API servers (front-proxy-client).
      frontProxy: { caCert: pki.frontProxyCA.cert, cert: pki.frontProxyClient.cert, key: pki.frontProxyClient.key },
      // Pod CIDRs for nodes that don't bring their own, from the ranges kite nodes use,
      // skipping any this host routes for something else (another cluster's node).
      nodeIpam: {
        clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16', '10.246.0.0/16', '10.247.0.0/16', '10.248.0.0/16', '10.249.0.0/16', '10.250.0.0/16'],
        reserve: (cidr, nodeName) => reservePodCidr(cidr, workerDirOf(paths.dir, nodeName)),
      },
    }).catch(async (err) => {
      await store.opened?.close();
      throw err;
    });
    const url = serverURL(opts.bindAddress, controlPlane.port);
    // Read again (not the start's reading): `kite node add|rm` may have changed it meanwhile.
    const previous = readClusterState(paths);
    if (!index) writeClusterState(paths, {
      ...previous,
      name,
      // Several servers: the cluster's API port is its load balancer's.
      apiPort: (previous?.servers ?? 1) > 1 ? previous!.apiPort : controlPlane.port,
      bindAddress: opts.bindAddress,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
      ...store.state,
    });
    log(`API server listening on ${url}`);

    const hollow = index ? { close: async () => {} } : await startHollowNodes(opts.hollowNodes, { clusterName: name, server: url, pki });

    // This host's node: its kubelet thread, on the runtime prepared above (in the background:
    // the API server is already serving). The cluster's first server runs it and the
    // other real nodes (`kite up --nodes`; `kite node add|rm` edit the list and send SIGHUP).
    const nodeServer = opts.nodeServer ?? url;
    // Several servers: the node keeps its own balancers over them (k3s agents' client-side load balancing).
    const severalServers = (previous?.servers ?? 1) > 1;
    const podNetwork = opts.podNetwork ?? previous?.podNetwork ?? 'vxlan';
    nodeTaken = true;
    const node = await startNode(preparedNode, name, paths.dir, nodeServer, pki.ca, severalServers, podNetwork);
    const workers = index
      ? { reconcile: async () => {}, close: async () => {} }
      : await startWorkers({ name, clusterDir: paths.dir, apiPort: controlPlane.port, bindAddress: opts.bindAddress, url: nodeServer, pki, registries, apiServerBalancer: severalServers, podNetwork });
    const reconcileWorkers = () => {
      const state = readClusterState(paths);
      void workers.reconcile(state?.workers ?? [], state?.stoppedWorkers ?? []).catch((err) => log(`nodes: ${errorMessage(err)}`));
    };
    process.on('SIGHUP', () => {
      log('SIGHUP received: reconciling nodes');
      reconcileWorkers();
    });
    reconcileWorkers();

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
          ['nodes', () => workers.close()],
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
    // A runtime no node took over would outlive this process.
    if (!nodeTaken) await preparedNode?.abandon().catch((e) => log(`node: stop failed: ${errorMessage(e)}`));
    removePidFile(paths.pid, process.pid);
    throw err;
  }
}
