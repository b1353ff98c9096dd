// The Node object: registration, status (capacity, allocatable, conditions,
// addresses, nodeInfo, images, daemon endpoint) and the heartbeat Lease in
// kube-node-lease (upstream: kubelet_node_status.go, nodestatus/setters.go,
// nodelease).
import { dirname, resolve } from 'node:path';
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, freemem, hostname, release, totalmem } from 'node:os';
import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { ApiTransport } from '../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/transport.js';
import type { EventRecorder } from '../client/events.js';
import { resourceByPath } from '../machinery/resources.js';
import { mapSelectorMatches } from '../machinery/labels.js';
import type { PodRuntime } from './types.js';
import { errorMessage, stableJson } from './util.js';
import { detectNvidiaGpus, gpuResources } from './gpu.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;

export const KUBELET_VERSION = 'v1.33.0';
export const LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
/** Eviction thresholds that allocatable subtracts (upstream defaults). */
const MEMORY_EVICTION_BYTES = 100 * 1024 * 1024;
const NODEFS_EVICTION_FRACTION = 0.1;

export interface NodeAgentOptions {
  transport: ApiTransport;
  nodeName: string;
  nodeIP: string;
  podCIDR?: string;
  controlPlane?: boolean;
  kubeletPort: number;
  maxPods: number;
  runtime: PodRuntime;
  /** the filesystem holding the kubelet's and the runtime's data (ephemeral-storage) */
  rootDir: string;
  recorder?: EventRecorder;
  /** labels to add (e.g. from `kite node add --label`) */
  labels?: Record<string, string>;
  /** how often status is computed (default 10 s) and reported when unchanged (default 5 min, upstream's nodeStatusReportFrequency: the Lease is the heartbeat) */
  statusUpdateMs?: number;
  statusReportMs?: number;
  leaseRenewMs?: number;
  log: (msg: string) => void;
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** metav1.MicroTime */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const text = readTrim('/etc/os-release');
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? 'Linux';
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

export interface NodeCapacity {
  cpu: number;
  memoryBytes: number;
  ephemeralBytes: number;
  /** NVIDIA GPUs detected on the host (kubelet/gpu.ts); advertised as nvidia.com/gpu. */
  gpus?: number;
}

export function nodeCapacity(rootDir: string): NodeCapacity {
  let ephemeralBytes = 0;
  // The root dir may not exist yet on a new node: its filesystem is its nearest existing parent's.
  for (let dir = resolve(rootDir); ; dir = dirname(dir)) {
    try {
      const s = statfsSync(dir);
      ephemeralBytes = s.blocks * s.bsize;
      break;
    } catch {
      if (dirname(dir) === dir) break;
    }
  }
  return { cpu: cpus().length, memoryBytes: totalmem(), ephemeralBytes, gpus: detectNvidiaGpus() };
}

export function nodeAllocatable(c: NodeCapacity): NodeCapacity {
  return {
    cpu: c.cpu,
    memoryBytes: Math.max(0, c.memoryBytes - MEMORY_EVICTION_BYTES),
    ephemeralBytes: Math.floor(c.ephemeralBytes * (1 - NODEFS_EVICTION_FRACTION)),
    gpus: c.gpus,
  };
}

export class NodeAgent {
  private node?: Node;
  private conditions: NodeCondition[] = [];
  private lastReport = 0;
  private lastReported = '';
  private statusTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private stopped = false;
  private runtimeVersion = '';
  private readonly capacity: NodeCapacity;

  constructor(private readonly o: NodeAgentOptions) {
    this.capacity = nodeCapacity(o.rootDir);
  }

  get name(): string {
    return this.o.nodeName;
  }

  get allocatable(): NodeCapacity {
    return nodeAllocatable(this.capacity);
  }

  get capacityInfo(): NodeCapacity {
    return this.capacity;
  }

  get current(): Node | undefined {
    return this.node;
  }

  labels(): Record<string, string> {
    const os = 'linux';
    const a = goArch();
    const l: Record<string, string> = {
      'beta.kubernetes.io/arch': a,
      'beta.kubernetes.io/os': os,
      'kubernetes.io/arch': a,
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': os,
      ...(this.o.labels ?? {}),
    };
    // node-role.kubernetes.io/* may not be set by a kubelet (NodeRestriction): the
    // control plane labels its own node (server/control-plane.ts).
    return l;
  }

  /** Registers the node (or reconciles an existing one); resolves with it. */
  async register(): Promise<Node> {
    try {
      const v = await this.o.runtime.version();
      this.runtimeVersion = `${v.runtimeName}://${v.runtimeVersion}`;
    } catch (err) {
      this.o.log(`runtime version: ${errorMessage(err)}`);
    }
    const status = await this.computeStatus();
    // The Node is created with its status, as upstream's kubelet does (initialNode): the
    // node is Ready with one write instead of a create and then a status patch.
    const registeredAt = Date.now();
    for (const c of status.conditions ?? []) c.lastHeartbeatTime = rfc3339(registeredAt);
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.o.nodeName,
        labels: this.labels(),
        annotations: {
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        },
      },
      spec: this.o.podCIDR ? { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] } : {},
      status,
    };
    let created = false;
    for (;;) {
      try {
        this.node = await this.o.transport.create<Node>(NODES, undefined, node);
        this.lastReport = registeredAt;
        created = true;
        this.o.log(`registered node ${this.o.nodeName}`);
        break;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await this.o.transport.get<Node>(NODES, undefined, this.o.nodeName);
      const existingCIDR = existing.spec?.podCIDR;
      if (this.o.podCIDR && existingCIDR && existingCIDR !== this.o.podCIDR) {
        // The pod CIDR is immutable once set: re-create the node with the one this node uses now.
        this.o.log(`node ${this.o.nodeName} had pod CIDR ${existingCIDR}, now ${this.o.podCIDR}: re-registering`);
        await this.o.transport.delete(NODES, undefined, this.o.nodeName, { preconditions: { uid: existing.metadata?.uid } }).catch(() => undefined);
        continue;
      }
      const labels = this.labels();
      const annotations = node.metadata!.annotations!;
      const setCIDR = !!this.o.podCIDR && !existingCIDR;
      if (!setCIDR && mapSelectorMatches(labels, existing.metadata?.labels) && mapSelectorMatches(annotations, existing.metadata?.annotations)) {
        // A restart of the same node: nothing to reconcile.
        this.node = existing;
        this.o.log(`node ${this.o.nodeName} already registered`);
        break;
      }
      const patch: Record<string, unknown> = { metadata: { labels, annotations } };
      if (setCIDR) patch.spec = { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] };
      this.node = await this.o.transport.patch<Node>(NODES, undefined, this.o.nodeName, 'merge', patch);
      this.o.log(`node ${this.o.nodeName} already registered; reconciled labels`);
      break;
    }
    if (!created) this.node = await this.writeStatus(status);
    this.o.recorder?.event(this.nodeRef(), 'Normal', 'Starting', 'Starting kubelet.');
    this.o.recorder?.event(this.nodeRef(), 'Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    return this.node;
  }

  private nodeRef() {
    return { kind: 'Node', name: this.o.nodeName, uid: this.o.nodeName, apiVersion: 'v1' };
  }

  start(): void {
    const statusMs = this.o.statusUpdateMs ?? 10_000;
    const leaseMs = this.o.leaseRenewMs ?? 10_000;
    const statusLoop = async () => {
      if (this.stopped) return;
      try {
        await this.updateStatus();
      } catch (err) {
        this.o.log(`node status update failed: ${errorMessage(err)}`);
      }
      if (!this.stopped) this.statusTimer = setTimeout(statusLoop, statusMs);
    };
    const leaseLoop = async () => {
      if (this.stopped) return;
      try {
        await this.renewLease();
      } catch (err) {
        this.o.log(`lease renewal failed: ${errorMessage(err)}`);
      }
      if (!this.stopped) this.leaseTimer = setTimeout(leaseLoop, leaseMs);
    };
    this.statusTimer = setTimeout(statusLoop, statusMs);
    void leaseLoop();
  }

  stop(): void {
    this.stopped = true;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
  }

  /** Compute now; post when something changed or the report interval passed. */
  async updateStatus(force = false): Promise<void> {
    const status = await this.computeStatus();
    const key = stableJson({ ...status, conditions: status.conditions?.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })) });
    const due = Date.now() - this.lastReport >= (this.o.statusReportMs ?? 300_000);
    if (!force && !due && key === this.lastReported && (await this.serverAgrees(status))) return;
    this.node = await this.writeStatus(status);
    this.lastReported = key;
  }

  /**
   * Whether the Node on the server still shows the condition statuses this kubelet
   * reports. The node lifecycle controller sets them Unknown when the heartbeats stop (a
   * kubelet paused or cut off): once back, the kubelet must say so at once, not at the
   * next report. Upstream's kubelet compares with the Node it reads likewise.
   */
  private async serverAgrees(status: NodeStatus): Promise<boolean> {
    let current: Node;
    try {
      current = await this.o.transport.get<Node>(NODES, undefined, this.o.nodeName);
    } catch {
      return true; // cannot tell: the report interval decides
    }
    const onServer = new Map((current.status?.conditions ?? []).map((c) => [c.type, c.status]));
    return (status.conditions ?? []).every((c) => onServer.get(c.type) === c.status);
  }

  private async writeStatus(status: NodeStatus): Promise<Node> {
    const now = Date.now();
    for (const c of status.conditions ?? []) c.lastHeartbeatTime = rfc3339(now);
    const n = await this.o.transport.patch<Node>(NODES, undefined, this.o.nodeName, 'merge', { status }, { subresource: 'status' });
    this.lastReport = now;
    return n;
  }

  private condition(type: string, status: boolean, reason: string, message: string): NodeCondition {
    const now = Date.now();
    const prev = this.conditions.find((c) => c.type === type) ?? this.node?.status?.conditions?.find((c) => c.type === type);
    const s = status ? 'True' : 'False';
    const transition = prev && prev.status === s && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
    if (prev && prev.status !== s) {
      this.o.recorder?.event(this.nodeRef(), 'Normal', type === 'Ready' ? (status ? 'NodeReady' : 'NodeNotReady') : reason, `Node ${this.o.nodeName} status is now: ${type === 'Ready' ? (status ? 'NodeReady' : 'NodeNotReady') : reason}`);
    }
    return { type, status: s, lastHeartbeatTime: rfc3339(now), lastTransitionTime: transition, reason, message };
  }

  async computeStatus(): Promise<NodeStatus> {
    const cap = this.capacity;
    const alloc = nodeAllocatable(cap);
    let ready: { runtimeReady: boolean; networkReady: boolean; message: string };
    try {
      ready = await this.o.runtime.readiness();
    } catch (err) {
      ready = { runtimeReady: false, networkReady: false, message: `container runtime is down: ${errorMessage(err)}` };
    }
    const memAvailable = freemem();
    let diskAvailable = Infinity;
    try {
      const s = statfsSync(this.o.rootDir);
      diskAvailable = s.bavail * s.bsize;
    } catch {
      // unknown
    }
    const memoryPressure = memAvailable < MEMORY_EVICTION_BYTES;
    const diskPressure = cap.ephemeralBytes > 0 && diskAvailable < cap.ephemeralBytes * NODEFS_EVICTION_FRACTION;
    const isReady = ready.runtimeReady && ready.networkReady;
    this.conditions = [
      this.condition('MemoryPressure', memoryPressure, memoryPressure ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory', memoryPressure ? 'kubelet has insufficient memory available' : 'kubelet has sufficient memory available'),
      this.condition('DiskPressure', diskPressure, diskPressure ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure', diskPressure ? 'kubelet has disk pressure' : 'kubelet has no disk pressure'),
      this.condition('PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      this.condition('Ready', isReady, isReady ? 'KubeletReady' : 'KubeletNotReady', isReady ? 'kubelet is posting ready status' : ready.message),
    ];
    let images: NodeStatus['images'];
    try {
      images = (await this.o.runtime.listImages())
        .filter((i) => i.names.length > 0)
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
        .slice(0, 50)
        .map((i) => ({ names: i.names, sizeBytes: i.sizeBytes }));
    } catch {
      images = [];
    }
    const machineID = readTrim('/etc/machine-id') || readTrim('/var/lib/dbus/machine-id');
    const quantities = (c: NodeCapacity, inKi: boolean) => ({
      cpu: String(c.cpu),
      'ephemeral-storage': inKi ? `${Math.floor(c.ephemeralBytes / 1024)}Ki` : String(c.ephemeralBytes),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: `${Math.floor(c.memoryBytes / 1024)}Ki`,
      pods: String(this.o.maxPods),
      ...gpuResources(c.gpus ?? 0),
    });
    return {
      capacity: quantities(cap, true),
      allocatable: quantities(alloc, false),
      conditions: this.conditions,
      addresses: [
        { type: 'InternalIP', address: this.o.nodeIP },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort } },
      nodeInfo: {
        machineID,
        systemUUID: readTrim('/sys/class/dmi/id/product_uuid').toLowerCase() || machineID,
        bootID: readTrim('/proc/sys/kernel/random/boot_id'),
        kernelVersion: release(),
        osImage: osImage(),
        containerRuntimeVersion: this.runtimeVersion || 'containerd://unknown',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
      images,
    };
  }

  /** Create or renew this node's Lease (renewTime, holderIdentity, 40 s duration). */
  async renewLease(): Promise<void> {
    const now = Date.now();
    type Lease = { apiVersion?: string; kind?: string; metadata?: ObjectMeta; spec?: Record<string, unknown> };
    let lease: Lease | undefined;
    try {
      lease = await this.o.transport.get<Lease>(LEASES, LEASE_NAMESPACE, this.o.nodeName);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const owner = this.node?.metadata?.uid
      ? [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: this.node.metadata.uid }]
      : undefined;
    if (!lease) {
      await this.o.transport.create<Lease>(LEASES, LEASE_NAMESPACE, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.nodeName, namespace: LEASE_NAMESPACE, ...(owner ? { ownerReferences: owner } : {}) },
        spec: { holderIdentity: this.o.nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
      });
      return;
    }
    const next: Lease = {
      ...lease,
      metadata: { ...lease.metadata, ...(owner && !lease.metadata?.ownerReferences?.length ? { ownerReferences: owner } : {}) },
      spec: { ...(lease.spec ?? {}), holderIdentity: this.o.nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
    };
    try {
      await this.o.transport.update<Lease>(LEASES, LEASE_NAMESPACE, next);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

export { hostname as osHostname };
