// `kite up`: creates (first time) or restarts a cluster: certificates, the control plane
// as a background `kite server`, readiness, kubeconfig.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKubeconfig, contextName, kubeconfigToYAML, mergeIntoUserKubeconfig } from '../../machinery/kubeconfig.js';
import { daemonEnv } from '../../machinery/daemon-env.js';
import { readAdminCredentials } from '../../machinery/pki.js';
import {
  clusterStatus,
  fileSize,
  httpsGet,
  listClusterNames,
  logTail,
  openCluster,
  readClusterState,
  serverURL,
  waitForReady,
  withClusterLock,
  writeClusterState,
  type Cluster,
  type ClientTLS,
} from '../cluster.js';
import { CliError, errorMessage } from '../errors.js';
import { checkHollowNodes } from '../hollow.js';
import { clusterPaths, DEFAULT_API_PORT, DEFAULT_BIND_ADDRESS } from '../paths.js';
import { findFreePort, isPortFree } from '../../machinery/ports.js';
import { removePidFile, terminate, writePidFile } from '../../machinery/process.js';
import { Progress } from '../progress.js';
import { CERTIFICATES_READY, serverPidFile } from './server.js';
import { balancerPidFile } from './balancer.js';
import { parseStoreKind, type StoreKind } from '../../store/open.js';
import { workerNodeNames } from '../../agent/workers.js';

export interface UpOptions {
  name: string;
  /** Wanted API port; default: the port this cluster used last, else 6443. */
  apiPort?: number;
  /** Default: what this cluster used last, else 127.0.0.1. */
  bindAddress?: string;
  /** Seconds to wait for /readyz. */
  waitSeconds: number;
  hollowNodes: number;
  /** Real nodes on this host, the control plane's included (default: what the cluster had). */
  nodes?: number;
  /** A k3s-style registries file: validated and copied to <cluster dir>/registries.yaml. */
  registries?: string;
  /** Store backend of a new cluster (an existing one keeps its own: `kite store migrate` switches). */
  store?: StoreKind;
  /** API servers to run (default: as last time, else 1); more than one needs the etcd store. */
  servers?: number;
  /** vxlan or host-gw (default: as last time, else vxlan). */
  podNetwork?: 'vxlan' | 'host-gw';
}

const MAIN_SCRIPT = fileURLToPath(new URL('../main.js', import.meta.url));

/** Ports remembered by the other clusters, so a new cluster does not take a stopped one's port. */
function portsOfOtherClusters(name: string): Set<number> {
  const ports = new Set<number>();
  for (const other of listClusterNames()) {
    if (other === name) continue;
    const state = readClusterState(clusterPaths(other));
    if (state) ports.add(state.apiPort);
  }
  return ports;
}

async function choosePort(
  name: string,
  wanted: number,
  bindAddress: string,
  mayTakeReserved: boolean,
  progress: Progress,
): Promise<number> {
  const reserved = portsOfOtherClusters(name);
  const isReserved = reserved.has(wanted) && !mayTakeReserved;
  if (!isReserved && (await isPortFree(wanted, bindAddress))) return wanted;
  const port = await findFreePort(wanted + 1, bindAddress, reserved);
  progress.note(`Port ${wanted} is ${isReserved ? 'reserved by another kite cluster' : 'in use'}; using ${port}`);
  return port;
}

/** Starts `kite server` for the cluster detached, output appended to its server.log. */
export function spawnServer(
  c: Cluster,
  port: number,
  bindAddress: string,
  hollowNodes: number,
  extra: { index?: number; nodeServer?: string } = {},
): { pid: number; exited: () => string | undefined } {
  const index = extra.index ?? 0;
  const logFile = index ? join(c.paths.dir, `server-${index}.log`) : c.paths.log;
  const logFd = openSync(logFile, 'a', 0o644);
  try {
    const child = spawn(
      process.execPath,
      [
        // The young generation grows to its maximum in the start-up burst and stays committed
        // when idle: 4 MiB semi-spaces keep 24 MiB less resident than V8's default 16 (and 8
        // less than 8) at no measurable CPU cost on bulk creates; 2 or 1 cost ~10 % more wall
        // time there (bench/footprint.ts, README). No --enable-source-maps: the maps' text and
        // decoded mappings held ~4.5 MiB of heap; NODE_OPTIONS=--enable-source-maps (the server
        // inherits the environment) brings TypeScript positions back into stack traces.
        '--max-semi-space-size=4',
        MAIN_SCRIPT,
        'server',
        '--name', c.name,
        '--data-dir', c.paths.dir,
        '--api-port', String(port),
        '--bind-address', bindAddress,
        '--hollow-nodes', String(hollowNodes),
        ...(index ? ['--server-index', String(index)] : []),
        ...(extra.nodeServer ? ['--node-server', extra.nodeServer] : []),
      ],
      { cwd: c.paths.dir, detached: true, stdio: ['ignore', logFd, logFd], env: daemonEnv() },
    );
    if (child.pid === undefined) throw new Error('could not start the server process');
    let exit: string | undefined;
    child.once('exit', (code, signal) => {
      exit = `the server process exited ${signal ? `on ${signal}` : `with code ${code}`}`;
    });
    child.once('error', (err) => {
      exit = `could not start the server process: ${err.message}`;
    });
    child.unref();
    writePidFile(serverPidFile(c.paths, index), child.pid);
    return { pid: child.pid, exited: () => exit };
  } finally {
    closeSync(logFd);
  }
}

/** Starts the cluster's load balancer (`kite balancer`) detached, output in balancer.log. */
function spawnBalancer(c: Cluster, port: number, bindAddress: string, backends: string[]): number {
  const logFd = openSync(join(c.paths.dir, 'balancer.log'), 'a', 0o644);
  try {
    const child = spawn(
      process.execPath,
      [MAIN_SCRIPT, 'balancer', '--name', c.name, '--api-port', String(port), '--bind-address', bindAddress, '--backends', backends.join(',')],
      { cwd: c.paths.dir, detached: true, stdio: ['ignore', logFd, logFd], env: process.env },
    );
    if (child.pid === undefined) throw new Error('could not start the load balancer');
    child.unref();
    writePidFile(balancerPidFile(c.paths), child.pid);
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}

type AdminCredentials = NonNullable<ReturnType<typeof readAdminCredentials>>;

/** Waits for the server's CERTIFICATES_READY line, then reads the admin's credentials. */
async function waitForCertificates(pkiDir: string, log: string, from: number, timeoutMs: number, aborted: () => string | undefined): Promise<AdminCredentials> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(log).subarray(from).toString('utf8');
    } catch {
      // no log yet
    }
    if (text.includes(CERTIFICATES_READY)) {
      const creds = readAdminCredentials(pkiDir);
      if (!creds) throw new Error(`the server said its certificates are ready, but ${pkiDir} lacks the CA's or the admin's`);
      return creds;
    }
    const why = aborted();
    if (why) throw new Error(why);
    if (Date.now() >= deadline) throw new Error(`the server did not write the cluster's certificates within ${Math.round(timeoutMs / 1000)} s`);
    await logChangeOrTimeout(log, 100);
  }
}

/** Writes the cluster's own kubeconfig file and merges it into the user's; returns the user's file. */
export function writeKubeconfigs(c: Cluster, pki: AdminCredentials, server: string): string {
  const cfg = buildKubeconfig({
    clusterName: c.name,
    server,
    caCert: pki.ca.cert,
    clientCert: pki.admin.cert,
    clientKey: pki.admin.key,
  });
  writeFileSync(c.paths.kubeconfig, kubeconfigToYAML(cfg), { mode: 0o600 });
  return mergeIntoUserKubeconfig(undefined, cfg, true);
}

/** How long `kite up` waits for the node's ingress controller to say where it listens. */
const INGRESS_WAIT_MS = 30_000;

/** Where the node's ingress controller serves, as its `ingress: listening on` log line says. */
export interface IngressAddress {
  address: string;
  httpPort: number;
  httpsPort: number;
}

/**
 * Resolves when `file` changes or after `ms`, whichever is first: the steps `kite up` waits
 * for are lines of the server's log, and a fixed poll would add up to its interval to each.
 */
function logChangeOrTimeout(file: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(file, done);
    } catch {
      // no log yet: the timer alone
    }
  });
}

/**
 * Reads the server log from `from` until the ingress controller says where it listens
 * (or the node says it won't run, or `timeoutMs` passes: undefined).
 */
export async function waitForIngressAddress(log: string, from: number, timeoutMs: number): Promise<IngressAddress | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text: string;
    try {
      text = readFileSync(log).subarray(from).toString('utf8');
    } catch {
      text = '';
    }
    const m = /ingress: listening on \S+:(\d+) \(http\) and \S+:(\d+) \(https\), address (\S+)/.exec(text);
    if (m) return { address: m[3]!, httpPort: Number(m[1]), httpsPort: Number(m[2]) };
    if (/no node on this host|networking failed to start|node failed/.test(text) || Date.now() >= deadline) return undefined;
    await logChangeOrTimeout(log, 250);
  }
}

/** Between two asks for a node not Ready yet (a GET on a keep-alive connection). */
const NODE_POLL_MS = 50;

/** How long `kite up` waits for its nodes to be Ready (the first start may install containerd). */
const NODE_READY_WAIT_MS = 300_000;

/** What the server logs when this host's node will not come up (not root, KITE_NODE=none, a failure). */
const NO_NODE = /no node on this host|node failed to start/;

/** What the server logs once the node's pause and busybox images are in its containerd (agent/node.ts). */
const IMAGES_READY = /node: images ready/;

/**
 * Waits until every node in `names` is registered and Ready (heartbeat at `since` or later)
 * and the server logs that the node's images are in, so that a pod created as soon
 * as `kite up` returns is scheduled (no "no nodes available"). Returns the nodes that did not
 * become Ready: all of them when the server logs that no node runs on this host, those
 * still not Ready after `timeoutMs`.
 */
export async function waitForNodesReady(
  server: string,
  tls: ClientTLS,
  names: string[],
  log: string,
  from: number,
  timeoutMs: number,
  since: number,
  aborted: () => string | undefined = () => undefined,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const waiting = new Set(names);
  let imagesReady = false;
  while (waiting.size > 0 || !imagesReady) {
    const why = aborted();
    if (why) throw new Error(why);
    await Promise.all(
      [...waiting].map(async (name) => {
        try {
          const res = await httpsGet(`${server}/api/v1/nodes/${encodeURIComponent(name)}`, tls, 2000);
          if (res.status !== 200) return;
          const node = JSON.parse(res.body) as { status?: { conditions?: Array<{ type?: string; status?: string; lastHeartbeatTime?: string }> } };
          const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
          // A restarted cluster still has the Ready its kubelet wrote last time: only a
          // heartbeat from this start counts (RFC 3339 times have whole seconds).
          if (ready?.status === 'True' && Date.parse(ready.lastHeartbeatTime ?? '') >= since - 1000) waiting.delete(name);
        } catch {
          // not there yet, or the server is busy: ask again
        }
      }),
    );
    let text = '';
    try {
      text = readFileSync(log).subarray(from).toString('utf8');
    } catch {
      // no log yet
    }
    // The node's images are imported while it registers: a pod created next needs them.
    imagesReady = IMAGES_READY.test(text);
    if ((waiting.size === 0 && imagesReady) || NO_NODE.test(text) || Date.now() >= deadline) break;
    // Images ready is a log line (it is often the last step); Ready is asked of the API again after the wait.
    await (waiting.size === 0 ? logChangeOrTimeout(log, 100) : new Promise((r) => setTimeout(r, NODE_POLL_MS)));
  }
  return [...waiting];
}

/** The line `kite up` prints about the ingress controller's address. */
export function ingressLine(a: IngressAddress): string {
  const moved = a.httpPort !== 80 || a.httpsPort !== 443 ? ` (ports 80/443 are taken on this host; Ingress status lists ${a.httpPort} and ${a.httpsPort})` : '';
  return `Ingresses are served at http://${a.address}:${a.httpPort} and https://${a.address}:${a.httpsPort}${moved}`;
}

export async function up(opts: UpOptions, progress = new Progress()): Promise<void> {
  const c = openCluster(opts.name);
  checkHollowNodes(opts.hollowNodes);
  if (opts.nodes !== undefined && (opts.nodes < 1 || opts.nodes > 50)) throw new CliError(`--nodes must be between 1 and 50 (got ${opts.nodes})`);
  mkdirSync(c.paths.dir, { recursive: true, mode: 0o700 });
  await withClusterLock(c.paths, async () => {
    const previous = readClusterState(c.paths);
    const status = clusterStatus(c.paths);
    if (status.state === 'running') {
      const where = previous ? ` at ${serverURL(previous.bindAddress, previous.apiPort)}` : '';
      progress.info(`Cluster "${c.name}" is already running${where} (pid ${status.pid}).`);
      return;
    }
    // KITE_STORE picks the store of new clusters (e.g. to run the acceptance tests on etcd).
    const store = opts.store ?? previous?.store ?? (process.env.KITE_STORE ? parseStoreKind(process.env.KITE_STORE) : 'sqlite');
    if (previous && opts.store && opts.store !== (previous.store ?? 'sqlite')) {
      throw new CliError(
        `cluster "${c.name}" uses the ${previous.store ?? 'sqlite'} store; to move it to ${opts.store} run \`kite store migrate --name ${c.name} --to ${opts.store}\``,
      );
    }
    progress.info(previous ? `Starting cluster "${c.name}" ...` : `Creating cluster "${c.name}" ...`);
    if (opts.registries !== undefined) {
      const { parseRegistries } = await import('../../kubelet/runtime/registries.js');
      let text: string;
      try {
        text = readFileSync(opts.registries, 'utf8');
        parseRegistries(text, opts.registries);
      } catch (err) {
        throw new CliError(`--registries: ${errorMessage(err)}`);
      }
      writeFileSync(join(c.paths.dir, 'registries.yaml'), text, { mode: 0o600 });
    }

    const servers = opts.servers ?? previous?.servers ?? 1;
    if (servers > 1 && store !== 'etcd') throw new CliError(`--servers ${servers} needs the etcd store (--store etcd)`);
    const bindAddress = opts.bindAddress ?? previous?.bindAddress ?? DEFAULT_BIND_ADDRESS;
    const wanted = opts.apiPort ?? previous?.apiPort ?? DEFAULT_API_PORT;
    const port = await choosePort(c.name, wanted, bindAddress, opts.apiPort !== undefined || previous !== undefined, progress);

    writeClusterState(c.paths, {
      ...previous,
      name: c.name,
      apiPort: port,
      bindAddress,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
      hollowNodes: opts.hollowNodes,
      store,
      workers: opts.nodes === undefined ? previous?.workers : workerNodeNames(c.name, opts.nodes - 1),
      servers,
      podNetwork: opts.podNetwork ?? previous?.podNetwork,
    });

    // The node's ingress serves through Debian's nginx: installed here, like the node's
    // other packages, so the server never waits on apt-get (it falls back to serving
    // Ingresses itself when nginx cannot be had).
    if (process.env.KITE_CONTROL_PLANE !== 'stub' && process.env.KITE_NODE !== 'none' && process.env.KITE_NODE !== 'off' && process.env.KITE_INGRESS_DATA_PLANE !== 'node' && process.getuid?.() === 0) {
      const { ensureNginxInstalled, nginxInstalled } = await import('../../ingress/nginx.js');
      if (!nginxInstalled()) {
        await progress
          .step('Installing nginx (the ingress data plane)', () => ensureNginxInstalled())
          .catch((err) => progress.info(`nginx could not be installed (${(err as Error).message.split('\n')[0]}); the ingress controller serves Ingresses itself`));
      }
    }
    const logStart = fileSize(c.paths.log);
    const startedAt = Date.now();
    // Several servers: the API port is the load balancer's; each server gets a port of its own.
    const serverPorts = [servers > 1 ? await findFreePort(port + 1, bindAddress, portsOfOtherClusters(c.name)) : port];
    const server = serverURL(bindAddress, serverPorts[0]);
    const proc = await progress.step('Starting control plane', () =>
      spawnServer(c, serverPorts[0], bindAddress, opts.hollowNodes, servers > 1 ? { nodeServer: serverURL(bindAddress, port) } : {}),
    );
    let pki: AdminCredentials;
    try {
      // The server makes (or checks) the certificates: read the admin's once it says so.
      pki = await progress.step('Writing certificates', () => waitForCertificates(c.paths.pki, c.paths.log, logStart, opts.waitSeconds * 1000, proc.exited));
      await progress.step(
        'Waiting for the API server',
        () => waitForReady(server, { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key }, opts.waitSeconds * 1000, proc.exited),
        () => `API server ready at ${server}`,
      );
    } catch (err) {
      if (!proc.exited()) await terminate(proc.pid, 5000).catch(() => undefined);
      removePidFile(c.paths.pid, proc.pid);
      const tail = logTail(c.paths.log, logStart);
      throw new CliError(
        `the control plane failed to start: ${errorMessage(err)}`,
        tail.length ? [`last lines of ${c.paths.log}:`, ...tail.map((l) => `  ${l}`)] : [`(nothing logged in ${c.paths.log})`],
      );
    }

    const clientCreds = { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key };
    for (let index = 1; index < servers; index++) {
      const p = await findFreePort(serverPorts[serverPorts.length - 1] + 1, bindAddress, portsOfOtherClusters(c.name));
      serverPorts.push(p);
      const extra = spawnServer(c, p, bindAddress, 0, { index });
      await progress.step(
        `Starting API server ${index + 1} of ${servers}`,
        () => waitForReady(serverURL(bindAddress, p), clientCreds, opts.waitSeconds * 1000, extra.exited),
        () => `API server ${index + 1} ready at ${serverURL(bindAddress, p)}`,
      );
    }
    const address = serverURL(bindAddress, port);
    if (servers > 1) {
      spawnBalancer(c, port, bindAddress, serverPorts.map((p) => `${bindAddress}:${p}`));
      await progress.step('Starting the load balancer', () => waitForReady(address, clientCreds, opts.waitSeconds * 1000, () => undefined), () => `Load balancer at ${address} in front of ${servers} API servers`);
    }
    const userKubeconfig = await progress.step('Writing kubeconfig', () => writeKubeconfigs(c, pki, address));
    const state = readClusterState(c.paths);
    if (state) writeClusterState(c.paths, { ...state, userKubeconfig });

    // The node (and its ingress controller) starts in the background; say where Ingresses
    // are served once it does, since 80/443 may be taken and other ports used instead.
    const nodeExpected = process.env.KITE_CONTROL_PLANE !== 'stub' && process.env.KITE_NODE !== 'none' && process.env.KITE_NODE !== 'off';
    if (nodeExpected) {
      // Return with the nodes Ready: a pod created right after `kite up` is then scheduled.
      // (the node names of kubelet/local-node.ts and agent/workers.ts; not imported: they load the node's code)
      const names = [`${c.name}-control-plane`, ...(readClusterState(c.paths)?.workers ?? [])];
      await progress.step(
        names.length === 1 ? `Waiting for node ${names[0]} to be Ready` : `Waiting for ${names.length} nodes to be Ready`,
        () => waitForNodesReady(address, clientCreds, names, c.paths.log, logStart, NODE_READY_WAIT_MS, startedAt, proc.exited),
        (left) => (left.length === names.length ? 'No node on this host (see the server log)' : left.length ? `Nodes not Ready yet: ${left.join(', ')}` : names.length === 1 ? `Node ${names[0]} Ready` : `${names.length} nodes Ready`),
      );
    }
    const ingress = nodeExpected ? await waitForIngressAddress(c.paths.log, logStart, INGRESS_WAIT_MS) : undefined;
    if (ingress) progress.info(ingressLine(ingress));

    const ctx = contextName(c.name);
    progress.info(`Set kubectl context to "${ctx}" (in ${userKubeconfig})`);
    progress.info('You can now use your cluster with:');
    progress.info('');
    progress.info(`kubectl cluster-info --context ${ctx}`);
    progress.info('');
    progress.info(`Stop it with \`kite down --name ${c.name}\`; the kubeconfig alone: \`kite kubeconfig --name ${c.name}\`.`);
    progress.info(`Other machines join it with the command \`kite token create --name ${c.name} --print-join-command\` prints.`);
  });
}
