// Simulated nodes for the scheduler acceptance tests: Node objects created with kubectl
// (status through the status subresource) whose Leases the test renews as kubelets
// would, so the node lifecycle controller keeps them Ready. Nothing runs on them; pods
// are only placed. Also the upstream wording of an unschedulable pod's message, and the
// waits the scheduler tests share.
import { HttpTransport, loadKubeconfig } from '../../client/index.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { Cluster } from './harness.js';
import { waitFor } from './harness.js';

const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const PODS = resourceByPath('', 'v1', 'pods')!;

/** The label every simulated node carries; test pods select it to stay off real nodes. */
export const SIMULATED = { 'kite.test/simulated': 'true' };

export interface SimNode {
  name: string;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** Extended resources (`nvidia.com/gpu`), in capacity and allocatable. */
  extended?: Record<string, string>;
}

/** A Lease's renewTime: MicroTime, microsecond precision. */
function microTime(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

export class SimulatedNodes {
  /** Names of the simulated nodes added and not forgotten. */
  readonly names: string[] = [];
  private api: HttpTransport | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly cluster: Cluster) {}

  /** Creates the node with kubectl: the object, a Ready status, and a Lease the heartbeat renews. */
  async add(n: SimNode): Promise<void> {
    const resources = { cpu: n.cpu ?? '4', memory: n.memory ?? '8Gi', pods: '110', ...(n.extended ?? {}) };
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...SIMULATED, ...(n.labels ?? {}) } },
      spec: n.taints ? { taints: n.taints } : {},
    };
    await this.cluster.k(['create', '-f', '-'], { stdin: JSON.stringify(node) });
    const status = {
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      },
    };
    await this.cluster.k(['patch', 'node', n.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: n.name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: n.name, leaseDurationSeconds: 40, renewTime: microTime() },
    };
    // Apply, not create: a node deleted and added again finds its old Lease.
    await this.cluster.k(['apply', '-f', '-'], { stdin: JSON.stringify(lease) });
    this.names.push(n.name);
  }

  /** Stops renewing the Leases of nodes the test deleted. */
  forget(names: string[]): void {
    for (const n of names) {
      const i = this.names.indexOf(n);
      if (i >= 0) this.names.splice(i, 1);
    }
  }

  /**
   * Plays the kubelets' part every `everyMs`: renews each node's Lease and, with
   * `finishDeletedPods`, deletes at once the pods being deleted on these nodes (a
   * kubelet would stop them and finish the deletion).
   */
  startHeartbeat(opts: { component: string; everyMs: number; finishDeletedPods?: boolean }): void {
    const api = new HttpTransport(loadKubeconfig(this.cluster.kubeconfig), { component: opts.component });
    this.api = api;
    this.heartbeat = setInterval(() => {
      for (const n of this.names) api.patch(LEASES, 'kube-node-lease', n, 'merge', { spec: { renewTime: microTime() } }).catch(() => undefined);
      if (!opts.finishDeletedPods) return;
      api
        .list(PODS, undefined, {})
        .then((l) => {
          for (const p of l.items as { metadata?: { name?: string; namespace?: string; deletionTimestamp?: string }; spec?: { nodeName?: string } }[]) {
            if (p.metadata?.deletionTimestamp && p.spec?.nodeName && this.names.includes(p.spec.nodeName)) {
              api.delete(PODS, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
            }
          }
        })
        .catch(() => undefined);
    }, opts.everyMs);
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.api?.close();
  }
}

/** Nodes the cluster has besides the simulated ones (a real node, when `kite up` registers one). */
export async function otherNodes(cluster: Cluster): Promise<number> {
  return (await cluster.k(['get', 'nodes', '-l', '!kite.test/simulated', '-o', 'name'])).split('\n').filter(Boolean).length;
}

/** The node a pod is placed on, once it is. */
export async function nodeOf(cluster: Cluster, pod: string): Promise<string> {
  return waitFor(`${pod} to be scheduled`, async () => (await cluster.k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}'])).trim() || undefined, 30_000, 250);
}

/** The pod's PodScheduled condition, once it is False with a message. */
export async function unschedulableCondition(cluster: Cluster, pod: string): Promise<{ status?: string; reason?: string; message?: string }> {
  return waitFor(
    `${pod} to be reported unschedulable`,
    async () => {
      const conds = JSON.parse((await cluster.k(['get', 'pod', pod, '-o', 'jsonpath={.status.conditions}'])) || '[]') as { type: string; status?: string; reason?: string; message?: string }[];
      const c = conds.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' && c.message ? c : undefined;
    },
    30_000,
    250,
  );
}

/**
 * "0/N nodes are available: … preemption: 0/N nodes are available: …" as upstream words it,
 * from reason counts (zero counts left out, the rest sorted); `preemption` may be the
 * whole text after "preemption: ".
 */
export function unavailableMessage(total: number, filter: [number, string][], preemption: [number, string][] | string): string {
  const part = (xs: [number, string][]) =>
    xs
      .filter(([n]) => n > 0)
      .map(([n, r]) => `${n} ${r}`)
      .sort()
      .join(', ');
  const pre = typeof preemption === 'string' ? preemption : `0/${total} nodes are available: ${part(preemption)}.`;
  return `0/${total} nodes are available: ${part(filter)}. preemption: ${pre}`;
}
