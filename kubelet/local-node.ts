// The node `kite server` runs on its own host: a private containerd (owned by
// the server process) and a kubelet in a worker thread of the server (kubelet/thread.ts;
// with several API servers, a `kite kubelet` process that outlives the server), each
// restarted when it dies. Stopping the node stops the kubelet, then removes every
// pod, the containerd, the bridge, the NAT rules, mounts and cgroups. Worker and joined
// nodes run `kite kubelet` as a process instead (KubeletSupervisor).
//
// Layout under <cluster dir>/node:
//   pki/                ca.crt, kubelet-client.{crt,key}, kubelet.{crt,key}
//   containerd/         the private containerd's state (see runtime/NOTES.md)
//   kubelet/            pods/<uid>/ (volumes, etc-hosts), logs/pods/
//   kubelet.json        the kubelet's config     kubelet.log (kubelet.pid: process kubelets)
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from 'kubernetes-types/core/v1.js';
import { HttpTransport } from '../client/http-transport.js';
import { isNotFound } from '../client/transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { daemonEnv } from '../machinery/daemon-env.js';
import { isAlive, processArgs, readPidFile, waitForExit } from '../machinery/process.js';
import { primaryHostIPv4, issueClientCert, issueServingCert, subjectIs, type CertKeyPair } from '../machinery/pki.js';
import { defaultKubeletConfig, DEFAULT_KUBELET_PORT, type KubeletConfig } from './config.js';
import { buildBusyboxImage, buildPauseImage, busyboxBuildInputs, cachedArchivePath, imageCacheDir, importImage, listImageNames, pauseBuildInputs, BUSYBOX_IMAGE, PAUSE_IMAGE } from './images/index.js';
import { removeCgroup } from './pod-helpers.js';
import {
  adoptContainerd,
  cleanupRuntime,
  detectCgroupDriver,
  detectCniVersion,
  ensureRuntimePackages,
  parseCidr,
  mountsUnder,
  restartContainerd,
  runtimeLayout,
  startContainerd,
  type RunningContainerd,
} from './runtime/index.js';
import { findFreePort } from '../machinery/ports.js';
import type { KubeletThreadData } from './thread.js';
import { KUBELET_THREAD, KUBELET_THREAD_LIMITS, takePrewarmedKubeletThread } from './thread-prewarm.js';
import { errorMessage, sleep } from './util.js';

export { localNodeUnsupported } from './util.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const CIDR_CLAIMS = '/run/kite/pod-cidrs';

export interface LocalNodeOptions {
  clusterName: string;
  clusterDir: string;
  /** API server URL */
  server: string;
  log: (msg: string) => void;
  /** kubelet port (default 10250, or the next free one) */
  kubeletPort?: number;
  /** The kubelet keeps a balancer of its own over the API servers the `kubernetes` endpoints list (several servers). */
  apiServerBalancer?: boolean;
}

export interface LocalNode {
  nodeName: string;
  nodeDir: string;
  nodeIP: string;
  podCIDR: string;
  /** The pod bridge on this host. */
  bridge: string;
  /**
   * Resolves once the pause and busybox images are in containerd (imported on a new
   * node, which takes a while: the caller starts the node's networking meanwhile).
   */
  images: Promise<void>;
  close(): Promise<void>;
}

export function localNodeName(clusterName: string): string {
  return `${clusterName}-control-plane`;
}

export function nodeDirOf(clusterDir: string): string {
  return join(resolve(clusterDir), 'node');
}

function hash8(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** Names derived from the node dir, unique per node on this host. */
export function nodeNetworkNames(nodeDir: string): { bridge: string; network: string; cgroupRoot: string } {
  const h = hash8(resolve(nodeDir));
  return { bridge: `kite-${h}`, network: `kite-${h}`, cgroupRoot: `/kite-${h}` };
}

// ---------------------------------------------------------------- pod CIDR

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** IPv4 routes of this host as [network, mask] pairs (from /proc/net/route). */
function hostRoutes(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const le = (hex: string) => {
        const n = parseInt(hex, 16);
        return (((n & 0xff) << 24) | ((n >>> 8) & 0xff) << 16 | ((n >>> 16) & 0xff) << 8 | ((n >>> 24) & 0xff)) >>> 0;
      };
      const dest = le(f[1]!);
      const mask = le(f[7]!);
      if (mask === 0) continue; // the default route overlaps everything
      out.push([dest, mask]);
    }
  } catch {
    // no procfs
  }
  return out;
}

export function overlapsRoutes(cidr: string): boolean {
  const { address, prefix } = parseCidr(cidr);
  const net = ipv4ToInt(address) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  for (const [d, m] of hostRoutes()) {
    const common = (mask & m) >>> 0;
    if (((net & common) >>> 0) === ((d & common) >>> 0)) return true;
  }
  return false;
}

function claimPath(cidr: string): string {
  return join(CIDR_CLAIMS, cidr.replace('/', '_'));
}

/** Claims `cidr` for nodeDir on this host; false when another live node holds it. */
function claimCidr(cidr: string, nodeDir: string): boolean {
  mkdirSync(CIDR_CLAIMS, { recursive: true, mode: 0o755 });
  const p = claimPath(cidr);
  try {
    const owner = readFileSync(p, 'utf8').trim();
    if (owner === nodeDir) return true;
    if (existsSync(owner)) return false;
  } catch {
    // unclaimed
  }
  writeFileSync(p, `${nodeDir}\n`);
  return readFileSync(p, 'utf8').trim() === nodeDir;
}

/**
 * Reserves `cidr` on this host for the node whose directory is `nodeDir` (the node IPAM
 * controller's check, so two clusters on one host never route the same pod CIDR): free
 * when no live node claims it and no route of this host overlaps it.
 */
export function reservePodCidr(cidr: string, nodeDir: string): boolean {
  const abs = resolve(nodeDir);
  if (claimOwnedBy(cidr, abs)) return true;
  if (overlapsRoutes(cidr)) return false;
  return claimCidr(cidr, abs);
}

export function releaseCidrClaims(nodeDir: string): void {
  try {
    for (const f of readdirSync(CIDR_CLAIMS)) {
      const p = join(CIDR_CLAIMS, f);
      try {
        if (readFileSync(p, 'utf8').trim() === resolve(nodeDir)) rmSync(p, { force: true });
      } catch {
        // gone
      }
    }
  } catch {
    // no claims dir
  }
}

/** A /24 of 10.244.0.0/16 (then 10.245-10.250) no other node on this host uses. */
export function choosePodCidr(nodeDir: string, preferred?: string): string {
  if (preferred && (claimCidr(preferred, nodeDir) && !overlapsRoutes(preferred) || claimOwnedBy(preferred, nodeDir))) return preferred;
  const start = parseInt(hash8(nodeDir).slice(0, 2), 16);
  for (let second = 244; second <= 250; second++) {
    for (let i = 0; i < 256; i++) {
      const third = (start + i) % 256;
      const cidr = `10.${second}.${third}.0/24`;
      if (overlapsRoutes(cidr)) continue;
      if (claimCidr(cidr, nodeDir)) return cidr;
    }
  }
  throw new Error('no free pod CIDR in 10.244.0.0/16 - 10.250.0.0/16');
}

function claimOwnedBy(cidr: string, nodeDir: string): boolean {
  try {
    return readFileSync(claimPath(cidr), 'utf8').trim() === nodeDir;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- certificates

function certUsable(certPem: string, ca: CertKeyPair, ips: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.cert);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < 30 * 86400_000) return false;
    for (const ip of ips) if (cert.checkIP(ip) === undefined) return false;
    return true;
  } catch {
    return false;
  }
}

export async function ensureNodeCerts(pkiDir: string, ca: CertKeyPair, nodeName: string, nodeIP: string): Promise<void> {
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(pkiDir, 'ca.crt'), ca.cert, { mode: 0o644 });
  const write = (name: string, pair: CertKeyPair) => {
    writeFileSync(join(pkiDir, `${name}.key`), pair.key, { mode: 0o600 });
    writeFileSync(join(pkiDir, `${name}.crt`), pair.cert, { mode: 0o644 });
  };
  const read = (name: string) => {
    try {
      return readFileSync(join(pkiDir, `${name}.crt`), 'utf8');
    } catch {
      return '';
    }
  };
  // The node's identity (upstream): CN system:node:<name>, O system:nodes; re-issued
  // when an older kite wrote another subject or the node was renamed.
  const client = read('kubelet-client');
  if (!certUsable(client, ca, []) || !subjectIs(client, `system:node:${nodeName}`, ['system:nodes'])) {
    write('kubelet-client', await issueClientCert(ca, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] }));
  }
  const ips = [...new Set([nodeIP, '127.0.0.1'])];
  if (!certUsable(read('kubelet'), ca, ips)) {
    write('kubelet', await issueServingCert(ca, { commonName: `${nodeName}@kubelet`, dnsNames: [...new Set([nodeName, hostname(), 'localhost'])], ipAddresses: ips }));
  }
}

// ---------------------------------------------------------------- images

export async function ensureImages(socket: string, dir: string, log: (m: string) => void, cacheDir = imageCacheDir()): Promise<void> {
  const wanted = [
    { ref: PAUSE_IMAGE, name: 'pause', inputs: pauseBuildInputs, build: (outPath: string) => buildPauseImage({ outPath }) },
    { ref: BUSYBOX_IMAGE, name: 'busybox', inputs: busyboxBuildInputs, build: (outPath: string) => buildBusyboxImage(BUSYBOX_IMAGE, { outPath }) },
  ];
  const present = await listImageNames(socket);
  await Promise.all(
    wanted.map(async (w) => {
      if (present.has(w.ref)) return;
      await importImage(socket, await imageArchive(w, dir, cacheDir));
      log(`imported ${w.ref}`);
    }),
  );
}

/**
 * The archive to import: one this node built earlier (they are deterministic), else the
 * machine's cached one, built into the cache when missing. Without a usable cache
 * directory (read-only, say) the node builds its own.
 */
async function imageArchive(w: { ref: string; name: string; inputs: () => string[]; build: (outPath: string) => Promise<unknown> }, dir: string, cacheDir: string | undefined): Promise<string> {
  const own = join(dir, `${w.name}.tar`);
  if (existsSync(own)) return own;
  if (cacheDir !== undefined) {
    const cached = cachedArchivePath(cacheDir, w.name, [w.ref, ...w.inputs()]);
    if (existsSync(cached)) return cached;
    try {
      await w.build(cached);
      return cached;
    } catch {
      // built below, into the node's directory (a build error shows there too)
    }
  }
  await w.build(own);
  return own;
}

// ---------------------------------------------------------------- the node

async function existingPodCidr(server: string, pki: string, nodeName: string): Promise<string | undefined> {
  const t = new HttpTransport(
    {
      server,
      caData: readFileSync(join(pki, 'ca.crt'), 'utf8'),
      certData: readFileSync(join(pki, 'kubelet-client.crt'), 'utf8'),
      keyData: readFileSync(join(pki, 'kubelet-client.key'), 'utf8'),
    },
    { component: 'kubelet', requestTimeoutMs: 5000 },
  );
  try {
    const node = await t.get<Node>(NODES, undefined, nodeName);
    return node.spec?.podCIDR;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  } finally {
    t.close();
  }
}

/**
 * The node's container runtime, which needs nothing of the API server: the server starts
 * it first thing, beside the control plane, so that containerd answers and the images
 * are in by the time the kubelet starts (startLocalNode then takes it over).
 */
export interface NodeRuntime {
  nodeDir: string;
  /** The pod CIDR containerd's CNI configuration was written with. */
  podCIDR: string;
  /** containerd's socket, known before it answers. */
  socket: string;
  /** containerd answering CRI: started, or adopted from an earlier server that died. */
  containerd: Promise<RunningContainerd>;
  /** Whether containerd was adopted (it runs the pods it ran, with the CNI configuration it had). */
  adopted: boolean;
  /** Whether the node ran here before (its kubelet's configuration was kept): else there is no Node of its own to agree with. */
  ranBefore: boolean;
  /** Resolves once the pause and busybox images are in containerd. */
  images: Promise<void>;
}

/**
 * The pod CIDR this node ran with last (its kubelet's configuration), which is its Node's
 * spec.podCIDR unless the Node was never registered: a starting node prefers it before it
 * can ask the API server.
 */
function lastPodCidr(nodeDir: string): string | undefined {
  try {
    const cidr = (JSON.parse(readFileSync(join(nodeDir, 'kubelet.json'), 'utf8')) as Partial<KubeletConfig>).podCIDR;
    return typeof cidr === 'string' && cidr !== '' ? cidr : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts (or adopts) the node's private containerd with its CNI configuration for a pod
 * CIDR of this host (`preferred`, else the one it ran with last, else a free one), then
 * imports the images. Returns once the CIDR is chosen; containerd and the images come in
 * the background.
 */
export async function startNodeRuntime(o: { clusterDir: string; log: (msg: string) => void; preferredCidr?: string }): Promise<NodeRuntime> {
  const log = o.log;
  const nodeDir = nodeDirOf(o.clusterDir);
  const containerdDir = join(nodeDir, 'containerd');
  mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  await ensureRuntimePackages({ log });
  const lastCidr = lastPodCidr(nodeDir);
  const podCIDR = choosePodCidr(nodeDir, o.preferredCidr ?? lastCidr);
  const adopted = await adoptContainerd(containerdDir);
  const socket = adopted?.socket ?? runtimeLayout(containerdDir).socket;
  const containerd = (async () => {
    if (adopted) {
      log(`adopted running containerd (pid ${adopted.pid})`);
      return adopted;
    }
    const names = nodeNetworkNames(nodeDir);
    const cniVersion = await detectCniVersion();
    const started = await startContainerd({ stateDir: containerdDir, cni: { podCIDR, bridge: names.bridge, name: names.network, cniVersion } });
    log(`containerd started (pid ${started.pid}, socket ${started.socket})`);
    return started;
  })();
  const images = containerd.then((rt) => ensureImages(rt.socket, join(nodeDir, 'images'), log));
  // Both are awaited by whoever takes the runtime over; a failure must not go unhandled meanwhile.
  containerd.catch(() => undefined);
  images.catch(() => undefined);
  return { nodeDir, podCIDR, socket, containerd, adopted: adopted !== null, ranBefore: lastCidr !== undefined, images };
}

/**
 * Stops a runtime no node took over (the control plane or the node failed to start): the
 * containerd it started, as if the server had not started it. An adopted one is left
 * running with its pods, as it was found (the next start adopts it again); nothing else
 * is removed, since no kubelet ran on it.
 */
export async function abandonNodeRuntime(runtime: NodeRuntime, log: (msg: string) => void): Promise<void> {
  await runtime.images.catch(() => undefined);
  const containerd = await runtime.containerd.catch(() => null);
  if (!containerd || runtime.adopted) return;
  await containerd.stop();
  log(`containerd stopped (pid ${containerd.pid}): the node did not start`);
}

/**
 * A runtime whose pod CIDR is not the Node's: the Node keeps the CIDR it registered with
 * (spec.podCIDR cannot change), and this host's claims were lost (a reboot empties /run)
 * or the node's directory was remade. Its containerd, which has run no pod yet, starts
 * again with the Node's CIDR.
 */
async function restartNodeRuntime(runtime: NodeRuntime, clusterDir: string, podCIDR: string, log: (msg: string) => void): Promise<NodeRuntime> {
  log(`pod CIDR ${runtime.podCIDR} differs from the Node's ${podCIDR}: starting containerd again with the Node's`);
  await runtime.images.catch(() => undefined);
  const containerd = await runtime.containerd.catch(() => null);
  await containerd?.stop();
  releaseCidrClaims(runtime.nodeDir);
  return startNodeRuntime({ clusterDir, log, preferredCidr: podCIDR });
}

/** The node on `runtime` (startNodeRuntime's, started before the API server served), with its certificates once `certificates` resolves. */
export async function startLocalNode(o: LocalNodeOptions & { runtime: NodeRuntime; certificates: Promise<unknown> }): Promise<LocalNode> {
  const log = o.log;
  const nodeName = localNodeName(o.clusterName);
  const nodeDir = nodeDirOf(o.clusterDir);
  const pkiDir = join(nodeDir, 'pki');
  const containerdDir = join(nodeDir, 'containerd');
  const rootDir = join(nodeDir, 'kubelet');

  const nodeIP = primaryHostIPv4();
  // Issued by whoever prepared the node (ensureNodeCerts, in agent/node.ts once the CA existed).
  await o.certificates;
  let previousCidr: string | undefined;
  // A node new to this host (no kubelet configuration kept, no containerd adopted) runs no
  // pods whose addresses its Node's CIDR would have to keep: it is not asked for (a round
  // trip to the API server on the way to a new cluster's Ready node). Should its Node
  // exist all the same (the node's directory was removed, not the cluster's), the kubelet
  // registers it again with the CIDR chosen here.
  if (o.runtime.ranBefore || o.runtime.adopted) {
    try {
      previousCidr = await existingPodCidr(o.server, pkiDir, nodeName);
    } catch (err) {
      log(`could not read node ${nodeName}: ${errorMessage(err)}`);
    }
  }
  let runtime = o.runtime;
  let podCIDR = runtime.podCIDR;
  if (previousCidr !== undefined && previousCidr !== podCIDR) {
    // An adopted containerd keeps running its pods: the kubelet takes the Node's CIDR, as it did before.
    if (runtime.adopted) podCIDR = choosePodCidr(nodeDir, previousCidr);
    else podCIDR = (runtime = await restartNodeRuntime(runtime, o.clusterDir, previousCidr, log)).podCIDR;
  }
  const names = nodeNetworkNames(nodeDir);

  // The kubelet takes a second to load: start it first; it waits for the containerd
  // socket if containerd is not answering yet.
  const port = o.kubeletPort ?? (await findFreePort(DEFAULT_KUBELET_PORT, '0.0.0.0'));
  const config: KubeletConfig = defaultKubeletConfig({
    nodeName,
    apiServer: o.server,
    ...(o.apiServerBalancer ? { apiServerBalancer: true } : {}),
    caFile: join(pkiDir, 'ca.crt'),
    clientCertFile: join(pkiDir, 'kubelet-client.crt'),
    clientKeyFile: join(pkiDir, 'kubelet-client.key'),
    servingCertFile: join(pkiDir, 'kubelet.crt'),
    servingKeyFile: join(pkiDir, 'kubelet.key'),
    rootDir,
    runtime: 'containerd',
    containerdSocket: runtime.socket,
    port,
    nodeIP,
    podCIDR,
    controlPlane: true,
    cgroupRoot: detectCgroupDriver() === 'cgroupfs' ? names.cgroupRoot : '',
  });
  const configPath = join(nodeDir, 'kubelet.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  // With one API server the node cannot work without it, so the kubelet shares its process.
  // With several, the node must outlive any one of them (its kubelet reaches the others
  // through its balancer): the kubelet is a process of its own, as worker nodes' are.
  let supervisor: KubeletThread | KubeletSupervisor;
  if (o.apiServerBalancer) {
    supervisor = new KubeletSupervisor(nodeDir, configPath, log);
  } else {
    // A kubelet process an older kite left running (its server killed) makes way for the thread.
    replaceStaleKubelet(join(nodeDir, 'kubelet.pid'), configPath, log);
    rmSync(join(nodeDir, 'kubelet.pid'), { force: true });
    supervisor = new KubeletThread(nodeDir, configPath, log);
  }
  supervisor.start();

  let containerd: RunningContainerd;
  try {
    containerd = await runtime.containerd;
  } catch (err) {
    await supervisor.stop();
    throw err;
  }

  const containerdSupervisor = new ContainerdSupervisor(containerdDir, containerd, log);
  return {
    nodeName,
    nodeDir,
    nodeIP,
    podCIDR,
    bridge: names.bridge,
    images: runtime.images,
    async close() {
      await supervisor.stop();
      await cleanupNode(nodeDir, { log, containerd: await containerdSupervisor.stop() });
    },
  };
}

/**
 * The node supervisors' restarts: after a run ends unexpectedly the next one starts after a
 * back-off, 1 s doubling to 30 s, reset once a run lasted a minute; stop() cancels a pending one.
 */
export class RestartSchedule {
  private restarts = 0;
  private timer?: NodeJS.Timeout;
  private stopping = false;

  /** Whether stop() was called: a run that ends now ended on purpose. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Runs `restart` after the back-off and returns the delay (ms); `ranSince`: when the run that ended started. */
  after(ranSince: number | undefined, restart: () => void): number {
    if (ranSince !== undefined && Date.now() - ranSince > 60_000) this.restarts = 0;
    const delay = Math.min(1000 * 2 ** this.restarts++, 30_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      restart();
    }, delay);
    return delay;
  }

  stop(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Restarts the node's containerd whenever it dies, with back-off (1 s doubling to 30 s,
 * reset after a minute of running). The config.toml and state dir are the ones it ran
 * with, so the shims (which outlive containerd) are reconnected to: running containers
 * carry on untouched and the kubelet's CRI connection comes back by itself.
 */
export class ContainerdSupervisor {
  private readonly restarts = new RestartSchedule();
  private restarting?: Promise<void>;

  constructor(
    private readonly stateDir: string,
    private current: RunningContainerd | null,
    private readonly log: (m: string) => void,
  ) {
    if (current) this.watch(current, Date.now());
  }

  /** The containerd running now (null while it is being restarted). */
  get running(): RunningContainerd | null {
    return this.current;
  }

  private watch(rt: RunningContainerd, started: number): void {
    void rt.exited.then(() => {
      if (this.restarts.stopped || this.current !== rt) return;
      this.current = null;
      this.schedule(`containerd (pid ${rt.pid}) exited`, started);
    });
  }

  private schedule(why: string, ranSince?: number): void {
    const delay = this.restarts.after(ranSince, () => {
      this.restarting = this.restart();
    });
    this.log(`${why}; restarting it in ${delay / 1000}s`);
  }

  private async restart(): Promise<void> {
    if (this.restarts.stopped) return;
    try {
      const rt = await restartContainerd(this.stateDir);
      if (this.restarts.stopped) {
        this.current = rt;
        return;
      }
      this.current = rt;
      this.log(`containerd restarted (pid ${rt.pid})`);
      this.watch(rt, Date.now());
    } catch (err) {
      if (!this.restarts.stopped) this.schedule(`containerd failed to restart: ${errorMessage(err)}`);
    }
  }

  /** Stops supervising; returns the containerd left running (for cleanup to stop). */
  async stop(): Promise<RunningContainerd | null> {
    this.restarts.stop();
    if (this.restarting) await this.restarting;
    return this.current;
  }
}

/**
 * Runs `kite kubelet --config` as a child and restarts it when it exits unexpectedly;
 * inside network namespace `netns` (a netns file) when given. nsenter rather than
 * `ip netns exec`, which would also remount /sys for the kubelet's whole life.
 */
export class KubeletSupervisor {
  private child?: ChildProcess;
  private readonly restarts = new RestartSchedule();

  constructor(
    private readonly nodeDir: string,
    private readonly configPath: string,
    private readonly log: (m: string) => void,
    private readonly netns?: string,
  ) {}

  start(): void {
    if (this.restarts.stopped) return;
    replaceStaleKubelet(join(this.nodeDir, 'kubelet.pid'), this.configPath, this.log);
    const logFd = openSync(join(this.nodeDir, 'kubelet.log'), 'a');
    const started = Date.now();
    let child: ChildProcess;
    try {
      // A smaller young generation keeps the idle RSS down; the kubelet allocates little per second.
      const argv = [process.execPath, '--max-semi-space-size=4', MAIN_SCRIPT, 'kubelet', '--config', this.configPath];
      if (this.netns) argv.unshift('nsenter', `--net=${this.netns}`);
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', logFd, logFd],
        detached: true,
        env: daemonEnv(),
      });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    if (child.pid) writeFileSync(join(this.nodeDir, 'kubelet.pid'), `${child.pid}\n`);
    this.log(`kubelet started (pid ${child.pid}, log ${join(this.nodeDir, 'kubelet.log')})`);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.restarts.stopped) return;
      const delay = this.restarts.after(started, () => this.start());
      this.log(`kubelet exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s`);
    });
  }

  async stop(): Promise<void> {
    this.restarts.stop();
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
    if (killed) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(join(this.nodeDir, 'kubelet.pid'), { force: true });
  }
}

/**
 * Runs the kubelet of the server's own host (kubelet/thread.ts) in a worker thread and starts
 * a new one when the thread ends unexpectedly (it threw, or ran out of its heap), with the
 * same back-off as a kubelet process; the new kubelet adopts the running containers.
 */
export class KubeletThread {
  private worker?: Worker;
  private readonly restarts = new RestartSchedule();

  /** `entry`: the thread's module (tests give one of their own). */
  constructor(
    private readonly nodeDir: string,
    private readonly configPath: string,
    private readonly log: (m: string) => void,
    private readonly entry: URL = KUBELET_THREAD,
  ) {}

  start(): void {
    if (this.restarts.stopped) return;
    const logPath = join(this.nodeDir, 'kubelet.log');
    const data: KubeletThreadData = { configPath: this.configPath, logPath };
    const started = Date.now();
    const prewarmed = this.entry === KUBELET_THREAD ? takePrewarmedKubeletThread() : undefined;
    prewarmed?.postMessage(data);
    const worker = prewarmed ?? new Worker(this.entry, { workerData: data, resourceLimits: KUBELET_THREAD_LIMITS });
    this.worker = worker;
    this.log(`kubelet started (thread ${worker.threadId} of this server, pid ${process.pid}; log ${logPath})`);
    let failure: string | undefined;
    worker.on('error', (err) => {
      failure = errorMessage(err);
      appendFileSync(logPath, `${new Date().toISOString()} the kubelet thread failed: ${err instanceof Error && err.stack ? err.stack : failure}\n`);
    });
    worker.once('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      if (this.restarts.stopped) return;
      const delay = this.restarts.after(started, () => this.start());
      this.log(`kubelet thread ended (${failure ?? `exit code ${code}`}); restarting it in ${delay / 1000}s`);
    });
  }

  /** Whether a kubelet thread runs now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Stops the kubelet (its pods keep running); a thread not done within 5 s is terminated. */
  async stop(): Promise<void> {
    this.restarts.stop();
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.postMessage('stop');
    const deadline = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(deadline);
  }
}

/**
 * Exactly one kubelet per node: a kubelet left running by a server that was killed
 * (its pid in kubelet.pid, its command line naming this node's config) is stopped before
 * a new one starts. Its containers carry on in containerd; the new kubelet adopts them.
 */
export function replaceStaleKubelet(pidPath: string, configPath: string, log: (m: string) => void): void {
  const pid = readPidFile(pidPath);
  if (pid === undefined || pid === process.pid || !isAlive(pid)) return;
  // A reused pid belonging to something else is left alone.
  if (!processArgs(pid)?.includes(configPath)) return;
  log(`stopping the kubelet left running by an earlier server (pid ${pid})`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let i = 0; i < 50 && isAlive(pid); i++) Atomics.wait(pause, 0, 0, 100);
    if (!isAlive(pid)) return;
  }
}

/**
 * Removes everything a node made: its kubelet (if still running), pods and
 * containerd (through cleanupRuntime: CNI teardown, bridge, NAT rules,
 * mounts), tmpfs volumes, pod cgroups and the pod CIDR claim. Safe to call
 * when nothing is left.
 */
export async function cleanupNode(nodeDir: string, opts: { log?: (m: string) => void; containerd?: RunningContainerd | null } = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  const abs = resolve(nodeDir);
  if (!existsSync(abs)) return;
  const pidPath = join(abs, 'kubelet.pid');
  if (existsSync(pidPath)) {
    const pid = readPidFile(pidPath);
    if (pid !== undefined && isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
      await waitForExit(pid, 5_000);
    }
    rmSync(pidPath, { force: true });
  }
  const containerdDir = join(abs, 'containerd');
  if (existsSync(containerdDir)) {
    const report = await cleanupRuntime(containerdDir, { log });
    if (report.containers.length || report.sandboxes.length) log(`removed ${report.containers.length} containers and ${report.sandboxes.length} pod sandboxes`);
  }
  if (opts.containerd) await opts.containerd.stop().catch(() => undefined);
  // emptyDir tmpfs and anything else mounted under the node dir
  for (const m of mountsUnder(abs)) {
    try {
      const { execFileSync } = await import('node:child_process');
      execFileSync('umount', ['-l', m]);
    } catch (err) {
      log(`umount ${m}: ${errorMessage(err)}`);
    }
  }
  rmSync(join(abs, 'kubelet', 'pods'), { recursive: true, force: true });
  const names = nodeNetworkNames(abs);
  removeCgroup(names.cgroupRoot);
  releaseCidrClaims(abs);
}
