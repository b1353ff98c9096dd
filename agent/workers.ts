// More real nodes on the control plane's host (`kite up --nodes N`, `kite node add|rm`),
// each as it would be on its own machine:
//
//   host netns                                  node netns kite-<hash> (one per node)
//   ┌──────────────────────────────┐           ┌────────────────────────────────────┐
//   │ underlay bridge kite-u<hash> ├── veth ───┤ eth0 100.64.X.N/24 (the node IP)   │
//   │ 100.64.X.1/24                │           │ containerd (its CNI bridge, pods)   │
//   │ route podCIDR_N via node IP  │           │ kubelet :10250, kube-proxy and      │
//   └──────────────────────────────┘           │ NetworkPolicy rules (nftables)      │
//                                              │ route podCIDR_M via node IP M       │
//                                              └────────────────────────────────────┘
//
// Pod traffic between nodes is routed by the kernel (host-gw over the underlay bridge):
// every node netns has a route to every other node's pod CIDR via that node's IP, the
// host has one to each. Pods keep their addresses across nodes and toward the host (the
// CNI bridge does not masquerade: NetworkPolicy and cluster DNS see the pod); traffic
// from the underlay to outside the cluster is masqueraded by the host. Every name on the host (bridge, veths, netns, nftables table) is derived from
// the cluster's or the node's directory, so two clusters never share one.
//
// Each node runs its own containerd (inside its netns: the CNI plugins it runs build the
// pod bridge and veths there) and its own kubelet child (`nsenter --net`). The kube-proxy
// and NetworkPolicy parts run in this process and program the node's netns.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ApiTransport } from '../client/transport.js';
import { isNotFound } from '../client/transport.js';
import { HttpTransport } from '../client/http-transport.js';
import { errorMessage } from '../machinery/errors.js';
import { KUBE_PROXY_USER, NETPOL_USER } from '../machinery/identities.js';
import type { CertKeyPair } from '../machinery/pki.js';
import { resourceByPath } from '../machinery/resources.js';
import { commandRunner, mustRun, type CommandRunner } from '../proxy/exec.js';
import { componentCredentials } from './credentials.js';
import type { NetworkingPart, NodeNetworking } from './networking.js';
import type { RunningContainerd } from '../kubelet/runtime/index.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
/** Pod CIDRs of kite clusters are cut from here: traffic to it is never masqueraded. */
export const POD_SUPERNET = '10.240.0.0/12';

export interface WorkerNodesOptions {
  clusterName: string;
  clusterDir: string;
  /** The API server's URL as the nodes reach it (the host's address, not loopback). */
  server: string;
  ca: CertKeyPair;
  registries: string;
  /** Reads Nodes (pod CIDRs) and deletes removed ones. */
  transport: ApiTransport;
  /** Each kubelet keeps a balancer of its own over the API servers (several servers). */
  apiServerBalancer?: boolean;
  log: (message: string) => void;
}

function hash8(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** Worker node names as kind names them: <cluster>-worker, <cluster>-worker2, ... */
export function workerNodeName(clusterName: string, n: number): string {
  return `${clusterName}-worker${n > 1 ? n : ''}`;
}

export function workerNodeNames(clusterName: string, count: number): string[] {
  return Array.from({ length: Math.max(0, count) }, (_, i) => workerNodeName(clusterName, i + 1));
}

export function workerDirOf(clusterDir: string, nodeName: string): string {
  return join(resolve(clusterDir), 'nodes', nodeName);
}

interface Underlay {
  bridge: string;
  /** e.g. 100.64.7.0/24 */
  subnet: string;
  hostIP: string;
  table: string;
}

/** The host-global names of one worker node. */
export function workerNames(nodeDir: string): { netns: string; veth: string } {
  const h = hash8(resolve(nodeDir));
  return { netns: `kite-${h}`, veth: `kv${h}` };
}

interface WorkerMeta {
  index: number;
  ip: string;
}

class Worker {
  podCIDR?: string;
  private networking?: NodeNetworking;
  /** Several API servers: the balancer this node's proxy and NetworkPolicy clients use (client/api-balancer.ts). */
  private balancer?: { url: string; close(): Promise<void> };
  private supervisor?: { stop(): Promise<void> };
  private containerd?: RunningContainerd;
  readonly nodeDir: string;
  readonly netns: string;
  readonly veth: string;

  constructor(
    readonly name: string,
    readonly ip: string,
    private readonly o: WorkerNodesOptions,
    private readonly underlay: Underlay,
    private readonly run: CommandRunner,
  ) {
    this.nodeDir = workerDirOf(o.clusterDir, name);
    ({ netns: this.netns, veth: this.veth } = workerNames(this.nodeDir));
  }

  get netnsPath(): string {
    return `/run/netns/${this.netns}`;
  }

  private log(m: string): void {
    this.o.log(`node ${this.name}: ${m}`);
  }

  /** The node's netns, its veth into the underlay, address and default route. */
  private async plumb(): Promise<void> {
    const run = (argv: string[]) => mustRun(this.run, argv);
    if (!existsSync(this.netnsPath)) await run(['ip', 'netns', 'add', this.netns]);
    if (!existsSync(`/sys/class/net/${this.veth}`)) {
      // A leftover eth0 (netns kept, host veth gone) is replaced.
      await this.run(['ip', '-n', this.netns, 'link', 'del', 'eth0']);
      await run(['ip', 'link', 'add', this.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    }
    await run(['ip', 'link', 'set', this.veth, 'master', this.underlay.bridge, 'up']);
    const prefix = this.underlay.subnet.split('/')[1];
    await run(['ip', '-n', this.netns, 'addr', 'replace', `${this.ip}/${prefix}`, 'dev', 'eth0']);
    await run(['ip', '-n', this.netns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', this.netns, 'link', 'set', 'eth0', 'up']);
    await run(['ip', '-n', this.netns, 'route', 'replace', 'default', 'via', this.underlay.hostIP, 'dev', 'eth0']);
    await run(['nsenter', `--net=${this.netnsPath}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  async start(): Promise<void> {
    const local = await import('../kubelet/local-node.js');
    const runtime = await import('../kubelet/runtime/index.js');
    const { defaultKubeletConfig } = await import('../kubelet/config.js');
    const { applyRegistries } = await import('../kubelet/runtime/registries.js');
    mkdirSync(this.nodeDir, { recursive: true, mode: 0o700 });
    await this.plumb();
    const pkiDir = join(this.nodeDir, 'pki');
    await local.ensureNodeCerts(pkiDir, this.o.ca, this.name, this.ip);
    const containerdDir = join(this.nodeDir, 'containerd');
    applyRegistries(this.o.registries, containerdDir);
    // No CNI config yet: it is written once the node IPAM controller gave the node its
    // pod CIDR (containerd picks the file up; the node is NotReady until then).
    const containerd = (await runtime.adoptContainerd(containerdDir)) ?? (await runtime.startContainerd({ stateDir: containerdDir, netns: this.netnsPath }));
    this.containerd = containerd;
    // The image archives are deterministic: the control plane node's are shared.
    await local.ensureImages(containerd.socket, join(resolve(this.o.clusterDir), 'node', 'images'), (m) => this.log(m));
    const names = local.nodeNetworkNames(this.nodeDir);
    const config = defaultKubeletConfig({
      nodeName: this.name,
      apiServer: this.o.server,
      ...(this.o.apiServerBalancer ? { apiServerBalancer: true } : {}),
      caFile: join(pkiDir, 'ca.crt'),
      clientCertFile: join(pkiDir, 'kubelet-client.crt'),
      clientKeyFile: join(pkiDir, 'kubelet-client.key'),
      servingCertFile: join(pkiDir, 'kubelet.crt'),
      servingKeyFile: join(pkiDir, 'kubelet.key'),
      rootDir: join(this.nodeDir, 'kubelet'),
      runtime: 'containerd',
      containerdSocket: containerd.socket,
      nodeIP: this.ip,
      cgroupRoot: runtime.detectCgroupDriver() === 'cgroupfs' ? names.cgroupRoot : '',
    });
    const configPath = join(this.nodeDir, 'kubelet.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    const supervisor = new local.KubeletSupervisor(this.nodeDir, configPath, (m) => this.log(m), this.netnsPath);
    supervisor.start();
    this.supervisor = supervisor;

    const podCIDR = await this.waitForPodCidr();
    this.podCIDR = podCIDR;
    local.reservePodCidr(podCIDR, this.nodeDir);
    runtime.writeCniConfig({
      podCIDR,
      bridge: names.bridge,
      name: names.network,
      cniVersion: await runtime.detectCniVersion(),
      confDir: runtime.cniConfDir(containerdDir),
      dataDir: runtime.cniDataDir(containerdDir),
      ipMasq: false,
    });

    const { startNodeNetworking } = await import('./networking.js');
    const users: Partial<Record<NetworkingPart, { file: string; user: string; component: string }>> = {
      proxy: { file: 'kube-proxy', user: KUBE_PROXY_USER, component: 'kube-proxy' },
      netpol: { file: 'netpol', user: NETPOL_USER, component: 'kite-netpol' },
    };
    const clients: Partial<Record<NetworkingPart, ApiTransport>> = {};
    if (this.o.apiServerBalancer && !this.balancer) {
      // kube-proxy's identity may watch the endpoints.
      const { startApiServerBalancer } = await import('../client/api-balancer.js');
      const creds = await componentCredentials(pkiDir, this.o.ca, 'kube-proxy', KUBE_PROXY_USER);
      this.balancer = await startApiServerBalancer({
        servers: [this.o.server],
        credentials: { caData: this.o.ca.cert, certData: creds.cert, keyData: creds.key },
        component: 'kite-node-balancer',
        stateFile: join(this.nodeDir, 'api-servers.json'),
        log: (m) => this.log(m),
      });
    }
    const server = this.balancer?.url ?? this.o.server;
    for (const [part, who] of Object.entries(users) as [NetworkingPart, { file: string; user: string; component: string }][]) {
      const creds = await componentCredentials(pkiDir, this.o.ca, who.file, who.user);
      clients[part] = new HttpTransport({ server, caData: this.o.ca.cert, certData: creds.cert, keyData: creds.key }, { component: who.component });
    }
    // Cluster DNS is the control plane node's server, reached through the kube-dns Service.
    this.networking = await startNodeNetworking({
      clientFor: (part) => clients[part]!,
      clusterName: this.o.clusterName,
      nodeName: this.name,
      nodeIP: this.ip,
      podCIDR,
      bridge: names.bridge,
      netns: this.netns,
      dns: false,
      ingress: false,
      log: (m) => this.log(m),
    });
    this.log(`started (IP ${this.ip}, pod CIDR ${podCIDR}, netns ${this.netns})`);
  }

  private async waitForPodCidr(): Promise<string> {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const node = await this.o.transport.get<Node>(NODES, undefined, this.name);
        if (node.spec?.podCIDR) return node.spec.podCIDR;
      } catch (err) {
        if (!isNotFound(err)) this.log(`reading the node: ${errorMessage(err)}`);
      }
      if (Date.now() > deadline) throw new Error(`node ${this.name} got no pod CIDR within 180s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Stops the node and removes its pods, runtime and netns; its directory stays unless `purge`. */
  async stop(purge: boolean): Promise<void> {
    const local = await import('../kubelet/local-node.js');
    if (this.networking) await this.networking.stop().catch((err) => this.log(`networking stop: ${errorMessage(err)}`));
    await this.balancer?.close().catch((err) => this.log(`balancer stop: ${errorMessage(err)}`));
    this.balancer = undefined;
    if (this.supervisor) await this.supervisor.stop();
    await local.cleanupNode(this.nodeDir, { log: (m) => this.log(m), containerd: this.containerd }).catch((err) => this.log(`cleanup: ${errorMessage(err)}`));
    if (this.podCIDR) await this.run(['ip', 'route', 'del', this.podCIDR, 'via', this.ip]);
    await this.run(['ip', 'link', 'del', this.veth]);
    await this.run(['ip', 'netns', 'del', this.netns]);
    if (purge) rmSync(this.nodeDir, { recursive: true, force: true });
  }
}

/** The worker nodes of one cluster; reconcile() starts and stops them to match a list. */
export class WorkerNodes {
  private readonly workers = new Map<string, Worker>();
  private readonly starting = new Map<string, Promise<void>>();
  private underlay?: Underlay;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly run = commandRunner();
  private closed = false;

  constructor(private readonly o: WorkerNodesOptions) {}

  /** Nodes of the cluster that are stopped (`kite node stop`): no runtime, their Node object kept. */
  private stopped = new Set<string>();

  /**
   * Makes the running workers exactly `names` minus `stopped`; a stopped one keeps its
   * directory and Node object (it goes NotReady), a removed one is deleted from the API too.
   */
  reconcile(names: readonly string[], stopped: readonly string[] = []): Promise<void> {
    const next = this.queue.then(() => this.doReconcile([...names], [...stopped]));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async deleteNode(name: string): Promise<void> {
    await this.o.transport.delete(NODES, undefined, name).catch((err) => {
      if (!isNotFound(err)) this.o.log(`deleting node ${name}: ${errorMessage(err)}`);
    });
    this.o.log(`node ${name} removed`);
  }

  private async doReconcile(all: string[], stoppedNames: string[]): Promise<void> {
    if (this.closed) return;
    const names = all.filter((n) => !stoppedNames.includes(n));
    for (const [name, w] of [...this.workers]) {
      if (names.includes(name)) continue;
      await this.starting.get(name)?.catch(() => undefined);
      this.workers.delete(name);
      const stopOnly = all.includes(name);
      await w.stop(!stopOnly);
      await this.syncRoutes();
      if (stopOnly) this.o.log(`node ${name} stopped`);
      else await this.deleteNode(name);
    }
    // A stopped node removed from the cluster: its Node object and directory go too.
    for (const name of this.stopped) {
      if (all.includes(name)) continue;
      rmSync(workerDirOf(this.o.clusterDir, name), { recursive: true, force: true });
      await this.deleteNode(name);
    }
    this.stopped = new Set(stoppedNames.filter((n) => all.includes(n)));
    const missing = names.filter((n) => !this.workers.has(n));
    if (missing.length === 0) return;
    const underlay = await this.ensureUnderlay();
    for (const name of missing) {
      const w = new Worker(name, this.nodeIP(name, underlay), this.o, underlay, this.run);
      this.workers.set(name, w);
      // Nodes start side by side; routes follow each one's pod CIDR.
      const started = w.start().then(
        () => this.syncRoutes(),
        (err) => this.o.log(`node ${name} failed to start: ${errorMessage(err)}`),
      );
      this.starting.set(name, started);
      void started.finally(() => this.starting.delete(name));
    }
  }

  /** The node's address on the underlay, kept in its directory across restarts. */
  private nodeIP(name: string, underlay: Underlay): string {
    const dir = workerDirOf(this.o.clusterDir, name);
    const metaPath = join(dir, 'node.json');
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as WorkerMeta;
      if (meta.ip.startsWith(underlay.subnet.split('.').slice(0, 3).join('.') + '.')) return meta.ip;
    } catch {
      // new node
    }
    const taken = new Set<number>();
    for (const w of this.workers.values()) taken.add(Number(w.ip.split('.')[3]));
    let index = 2;
    while (taken.has(index)) index++;
    if (index > 254) throw new Error('no address left on the underlay');
    const ip = `${underlay.subnet.split('.').slice(0, 3).join('.')}.${index}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(metaPath, JSON.stringify({ index, ip } satisfies WorkerMeta) + '\n');
    return ip;
  }

  /** host-gw: every node (and the host) routes each node's pod CIDR via that node's IP. */
  private async syncRoutes(): Promise<void> {
    const ready = [...this.workers.values()].filter((w) => w.podCIDR && existsSync(w.netnsPath));
    for (const w of ready) {
      await this.routeReplace([], w);
      for (const other of ready) if (other !== w) await this.routeReplace(['-n', other.netns], w, 'eth0');
    }
  }

  private async routeReplace(where: string[], to: Worker, dev = this.underlay!.bridge): Promise<void> {
    const r = await this.run(['ip', ...where, 'route', 'replace', to.podCIDR!, 'via', to.ip, 'dev', dev]);
    if (r.code !== 0) this.o.log(`route to ${to.podCIDR} via ${to.ip}${where.length ? ` in ${where[1]}` : ''}: ${r.stderr.trim()}`);
  }

  /** The cluster's bridge on the host, with the host's address on it and outbound NAT. */
  private async ensureUnderlay(): Promise<Underlay> {
    if (this.underlay) return this.underlay;
    const dir = resolve(this.o.clusterDir);
    const h = hash8(dir);
    const path = join(dir, 'underlay.json');
    let underlay: Underlay | undefined;
    try {
      underlay = JSON.parse(readFileSync(path, 'utf8')) as Underlay;
    } catch {
      // first worker
    }
    const { reservePodCidr } = await import('../kubelet/local-node.js');
    if (!underlay || !reservePodCidr(underlay.subnet, dir)) {
      // A /24 of 100.64.0.0/10 (shared address space) nothing on this host uses.
      const start = parseInt(h.slice(0, 4), 16) % (64 * 256);
      for (let i = 0; i < 64 * 256 && !underlay; i++) {
        const n = (start + i) % (64 * 256);
        const subnet = `100.${64 + (n >> 8)}.${n & 255}.0/24`;
        if (reservePodCidr(subnet, dir)) underlay = { bridge: `kite-u${h}`, subnet, hostIP: subnet.replace(/0\/24$/, '1'), table: `kite-ul-${h}` };
      }
      if (!underlay) throw new Error('no free /24 in 100.64.0.0/10 for the nodes');
      writeFileSync(path, JSON.stringify(underlay, null, 2) + '\n');
    }
    const run = (argv: string[], stdin?: string) => mustRun(this.run, argv, stdin);
    if (!existsSync(`/sys/class/net/${underlay.bridge}`)) await run(['ip', 'link', 'add', underlay.bridge, 'type', 'bridge']);
    await run(['ip', 'addr', 'replace', `${underlay.hostIP}/24`, 'dev', underlay.bridge]);
    await run(['ip', 'link', 'set', underlay.bridge, 'up']);
    await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const t = underlay.table;
    await run(
      ['nft', '-f', '-'],
      [
        `add table ip ${t}`,
        `delete table ip ${t}`,
        `add table ip ${t}`,
        `add chain ip ${t} postrouting { type nat hook postrouting priority srcnat; }`,
        // Nodes and their pods reach the world as the host; pods and the host see pods as themselves.
        `add rule ip ${t} postrouting iifname "${underlay.bridge}" oifname != "${underlay.bridge}" ip daddr != ${POD_SUPERNET} masquerade`,
        `add chain ip ${t} forward { type filter hook forward priority filter; }`,
        `add rule ip ${t} forward iifname "${underlay.bridge}" accept`,
        `add rule ip ${t} forward oifname "${underlay.bridge}" accept`,
      ].join('\n') + '\n',
    );
    this.underlay = underlay;
    return underlay;
  }

  /** Stops every worker (their directories stay, so the next start brings them back) and removes the underlay. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.all([...this.starting.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.workers.values()].map((w) => w.stop(false).catch((err) => this.o.log(`node ${w.name}: stop: ${errorMessage(err)}`))));
    this.workers.clear();
    await removeUnderlay(this.o.clusterDir, this.run);
  }
}

/** Removes a cluster's underlay bridge and NAT table, e.g. after a crash (`kite down`). */
export async function removeUnderlay(clusterDir: string, run: CommandRunner = commandRunner()): Promise<void> {
  const dir = resolve(clusterDir);
  let underlay: Underlay;
  try {
    underlay = JSON.parse(readFileSync(join(dir, 'underlay.json'), 'utf8')) as Underlay;
  } catch {
    return;
  }
  await run(['ip', 'link', 'del', underlay.bridge]);
  await run(['nft', 'delete', 'table', 'ip', underlay.table]);
  const { releaseCidrClaims } = await import('../kubelet/local-node.js');
  releaseCidrClaims(dir);
}

/** Removes what crashed workers left: their pods, runtime and netns (directories stay). */
export async function cleanupWorkers(clusterDir: string, names: readonly string[]): Promise<void> {
  const { cleanupNode } = await import('../kubelet/local-node.js');
  const run = commandRunner();
  for (const name of names) {
    const dir = workerDirOf(clusterDir, name);
    if (!existsSync(dir)) continue;
    await cleanupNode(dir).catch(() => undefined);
    const { netns, veth } = workerNames(dir);
    await run(['ip', 'link', 'del', veth]);
    await run(['ip', 'netns', 'del', netns]);
  }
  await removeUnderlay(clusterDir, run);
}
