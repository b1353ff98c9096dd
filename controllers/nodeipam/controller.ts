// The node IPAM controller (upstream: pkg/controller/nodeipam, the range allocator):
// every Node without spec.podCIDR gets the next free subnet of the cluster CIDR(s),
// written once (spec.podCIDR is immutable). Subnets already in Nodes' specs are taken;
// a released Node's subnet becomes free again once the Node is gone.
//
// kite runs several clusters on one host, whose nodes' pod CIDRs are all routed by
// the same kernel: `reserve` (given by the composition) vetoes subnets this host uses
// for anything else and records the ones handed out.
import type { Node } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;

export interface NodeIpamOptions {
  /** IPv4 CIDRs subnets are cut from, in order (upstream --cluster-cidr). */
  clusterCIDRs: string[];
  /** Prefix length of each node's subnet (upstream --node-cidr-mask-size, default 24). */
  nodeMaskSize?: number;
  /** Whether `cidr` may go to node `nodeName` (and claims it); default: always. */
  reserve?: (cidr: string, nodeName: string) => boolean;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Every subnet of size /mask inside `cidr`, in address order. */
export function* subnetsOf(cidr: string, mask: number): Generator<string> {
  const [addr, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!addr || !(prefix >= 0 && prefix <= mask && mask <= 32)) throw new Error(`cannot cut /${mask} subnets from ${cidr}`);
  const base = ipToInt(addr);
  const size = 2 ** (32 - mask);
  const count = 2 ** (mask - prefix);
  for (let i = 0; i < count; i++) yield `${intToIp(base + i * size)}/${mask}`;
}

export class NodeIpamController extends QueueController {
  readonly nodes: Informer<Node>;
  private readonly transport: ApiTransport;

  constructor(
    ctx: ControllerContext,
    private readonly o: NodeIpamOptions,
  ) {
    super({ name: 'node-ipam-controller' });
    this.transport = ctx.transport;
    this.nodes = ctx.informers.informerFor<Node>(NODES);
    this.watch(this.nodes, (n) => n.metadata?.name, { update: (_old, node) => !node.spec?.podCIDR });
    this.requireSynced(this.nodes);
  }

  protected override async reconcile(name: string): Promise<void> {
    const node = this.nodes.store.get(undefined, name);
    if (!node || node.spec?.podCIDR || node.metadata?.deletionTimestamp) return;
    const used = new Set<string>();
    for (const n of this.nodes.store.list()) for (const c of [n.spec?.podCIDR, ...(n.spec?.podCIDRs ?? [])]) if (c) used.add(c);
    const mask = this.o.nodeMaskSize ?? 24;
    for (const cluster of this.o.clusterCIDRs) {
      for (const cidr of subnetsOf(cluster, mask)) {
        if (used.has(cidr)) continue;
        if (this.o.reserve && !this.o.reserve(cidr, name)) continue;
        try {
          await this.transport.patch<Node>(NODES, undefined, name, 'strategic', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
          this.log(`node-ipam-controller: node ${name} gets pod CIDR ${cidr}`);
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
        return;
      }
    }
    this.log(`node-ipam-controller: no pod CIDR left for node ${name} in ${this.o.clusterCIDRs.join(', ')}`);
  }
}
