// The VXLAN pod network (upstream analogue: flannel's vxlan backend), for nodes that are
// not on one L2 segment: each node has a kernel VXLAN device (VNI per cluster, UDP 8472,
// no learning) whose address is its pod CIDR's network address (/32), and announces the
// device's MAC on its Node (flannel's annotations). For every other node so announced it
// programs a neighbour entry (that node's VTEP address → its MAC), an FDB entry (its MAC →
// its node IP, the outer destination) and a route for its pod CIDR via its VTEP address
// on the device. Nodes without a VTEP (the control plane host's worker namespaces, which
// are host-gw on its bridge) are left to the other routes.
import { createHash } from 'node:crypto';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ApiTransport } from '../client/transport.js';
import { NodeFollower } from './node-follower.js';
import { isNotFound } from '../client/transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { commandRunner, mustRun, type CommandRunner } from '../proxy/exec.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;
export const BACKEND_TYPE_ANNOTATION = 'flannel.alpha.coreos.com/backend-type';
export const BACKEND_DATA_ANNOTATION = 'flannel.alpha.coreos.com/backend-data';
export const PUBLIC_IP_ANNOTATION = 'flannel.alpha.coreos.com/public-ip';
export const VXLAN_PORT = 8472;

export type PodNetworkMode = 'vxlan' | 'host-gw';

export function parsePodNetworkMode(v: string): PodNetworkMode {
  if (v === 'vxlan' || v === 'host-gw') return v;
  throw new Error(`unknown pod network "${v}" (want vxlan or host-gw)`);
}

/** A cluster's VNI, from its directory (1..2^24-1): clusters on one host use distinct devices. */
export function clusterVni(clusterDir: string): number {
  let h = 2166136261;
  for (const c of clusterDir) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return (h % 0xfffffe) + 1;
}

export function vxlanDevice(vni: number): string {
  return `kvx${vni}`;
}

/** A locally administered unicast MAC for a node's VTEP. */
export function vtepMac(nodeName: string, podCIDR: string): string {
  const h = createHash('sha256').update(`${nodeName}/${podCIDR}`).digest();
  h[0] = (h[0]! & 0xfc) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The VTEP address of a node: its pod CIDR's network address. */
function vtepAddress(podCIDR: string): string {
  return podCIDR.split('/')[0];
}

interface Peer {
  cidr: string;
  vtep: string;
  mac: string;
  publicIP: string;
}

function peerOf(n: Node, vni: number): Peer | undefined {
  const a = n.metadata?.annotations ?? {};
  if (a[BACKEND_TYPE_ANNOTATION] !== 'vxlan' || !n.spec?.podCIDR) return undefined;
  let data: { VNI?: number; VtepMAC?: string };
  try {
    data = JSON.parse(a[BACKEND_DATA_ANNOTATION] ?? '') as typeof data;
  } catch {
    return undefined;
  }
  const publicIP = a[PUBLIC_IP_ANNOTATION] ?? n.status?.addresses?.find((x) => x.type === 'InternalIP')?.address;
  if (data.VNI !== vni || !data.VtepMAC || !publicIP) return undefined;
  return { cidr: n.spec.podCIDR, vtep: vtepAddress(n.spec.podCIDR), mac: data.VtepMAC, publicIP };
}

/** The VNI the cluster's nodes announce, if any does (a joining node follows it). */
export function announcedVni(nodes: Node[]): number | undefined {
  for (const n of nodes) {
    if (n.metadata?.annotations?.[BACKEND_TYPE_ANNOTATION] !== 'vxlan') continue;
    try {
      const vni = (JSON.parse(n.metadata.annotations[BACKEND_DATA_ANNOTATION] ?? '') as { VNI?: number }).VNI;
      if (typeof vni === 'number') return vni;
    } catch {
      // not ours
    }
  }
  return undefined;
}

/** How long start() waits for the node's kubelet to register the Node it annotates. */
const REGISTRATION_WAIT_MS = 120_000;

export interface VxlanOptions {
  /** Reads Nodes and annotates this node (the node's own identity may). */
  transport: ApiTransport;
  nodeName: string;
  nodeIP: string;
  podCIDR: string;
  vni: number;
  log: (m: string) => void;
  run?: CommandRunner;
}

export class VxlanNetwork {
  readonly device: string;
  private readonly run: CommandRunner;
  private readonly nodes: NodeFollower;
  private readonly peers = new Map<string, Peer>();
  private stopping = false;
  mac = '';

  constructor(private readonly o: VxlanOptions) {
    this.device = vxlanDevice(o.vni);
    this.run = o.run ?? commandRunner();
    this.nodes = new NodeFollower(o.transport, { sync: (n) => this.syncNode(n), remove: (name) => this.remove(name), log: (m) => o.log(`vxlan: ${m}`) });
  }

  /** Creates the device, announces it on the Node, then follows the other nodes. */
  async start(): Promise<void> {
    const run = (argv: string[]) => mustRun(this.run, argv);
    const dev = this.device;
    const exists = (await this.run(['ip', 'link', 'show', dev])).code === 0;
    if (exists) {
      // A device from an earlier run with another local address is replaced.
      const detail = (await this.run(['ip', '-d', 'link', 'show', dev])).stdout;
      if (!detail.includes(`local ${this.o.nodeIP} `) || !detail.includes(vtepMac(this.o.nodeName, this.o.podCIDR))) await run(['ip', 'link', 'del', dev]);
    }
    if ((await this.run(['ip', 'link', 'show', dev])).code !== 0) {
      // An explicit MAC: one made from the device name and the machine id (udev's
      // persistent policy) would be the same for two nodes on one host.
      await run(['ip', 'link', 'add', dev, 'address', vtepMac(this.o.nodeName, this.o.podCIDR), 'type', 'vxlan', 'id', String(this.o.vni), 'local', this.o.nodeIP, 'dstport', String(VXLAN_PORT), 'nolearning']);
    }
    await run(['ip', 'addr', 'replace', `${vtepAddress(this.o.podCIDR)}/32`, 'dev', dev]);
    await run(['ip', 'link', 'set', dev, 'up']);
    // From `ip`, not /sys: a process that entered a netns with `nsenter --net` still sees the host's sysfs.
    const mac = / link\/ether ([0-9a-f:]{17}) /.exec(await run(['ip', '-o', 'link', 'show', 'dev', dev]))?.[1];
    if (!mac) throw new Error(`cannot read the MAC address of ${dev}`);
    this.mac = mac;
    const announcement = {
      metadata: {
        annotations: {
          [BACKEND_TYPE_ANNOTATION]: 'vxlan',
          [BACKEND_DATA_ANNOTATION]: JSON.stringify({ VNI: this.o.vni, VtepMAC: this.mac }),
          [PUBLIC_IP_ANNOTATION]: this.o.nodeIP,
        },
      },
    };
    // The node's own kubelet registers the Node; this may start first (a new node's
    // networking does not wait for its kubelet): announce once the Node is there.
    const deadline = Date.now() + REGISTRATION_WAIT_MS;
    for (;;) {
      try {
        await this.o.transport.patch(NODES, undefined, this.o.nodeName, 'merge', announcement);
        break;
      } catch (err) {
        if (!isNotFound(err) || this.stopping || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.o.log(`vxlan: ${dev} (VNI ${this.o.vni}, MAC ${this.mac}, VTEP ${vtepAddress(this.o.podCIDR)})`);
    if (!this.stopping) this.nodes.start();
  }

  private async syncNode(n: Node): Promise<void> {
    const name = n.metadata!.name!;
    if (name === this.o.nodeName) return;
    const peer = peerOf(n, this.o.vni);
    const had = this.peers.get(name);
    if (had && (!peer || JSON.stringify(had) !== JSON.stringify(peer))) await this.remove(name);
    if (!peer || this.peers.has(name)) return;
    const dev = this.device;
    const run = (argv: string[]) => mustRun(this.run, argv);
    await run(['ip', 'neigh', 'replace', peer.vtep, 'lladdr', peer.mac, 'dev', dev, 'nud', 'permanent']);
    await run(['bridge', 'fdb', 'replace', peer.mac, 'dev', dev, 'dst', peer.publicIP, 'self', 'permanent']);
    await run(['ip', 'route', 'replace', peer.cidr, 'via', peer.vtep, 'dev', dev, 'onlink']);
    this.peers.set(name, peer);
    this.o.log(`vxlan: ${peer.cidr} via ${peer.vtep} (node ${name} at ${peer.publicIP})`);
  }

  private async remove(name: string): Promise<void> {
    const p = this.peers.get(name);
    if (!p) return;
    this.peers.delete(name);
    const dev = this.device;
    await this.run(['ip', 'route', 'del', p.cidr, 'via', p.vtep, 'dev', dev]);
    await this.run(['ip', 'neigh', 'del', p.vtep, 'dev', dev]);
    await this.run(['bridge', 'fdb', 'del', p.mac, 'dev', dev, 'dst', p.publicIP, 'self']);
  }

  /** Stops following nodes and removes the device (and with it every entry and route). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.nodes.stop();
    this.peers.clear();
    await this.run(['ip', 'link', 'del', this.device]);
  }
}

/** Removes a node's VTEP annotations (the cluster runs host-gw now), as the node itself. */
export async function withdrawVtep(o: { server: string; ca: string; pkiDir: string; nodeName: string }): Promise<void> {
  const { HttpTransport } = await import('../client/http-transport.js');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const asNode = new HttpTransport(
    { server: o.server, caData: o.ca, certData: readFileSync(join(o.pkiDir, 'kubelet-client.crt'), 'utf8'), keyData: readFileSync(join(o.pkiDir, 'kubelet-client.key'), 'utf8') },
    { component: 'kite-vxlan' },
  );
  try {
    let node: Node;
    try {
      node = await asNode.get<Node>(NODES, undefined, o.nodeName);
    } catch (err) {
      if (isNotFound(err)) return; // a new node announced nothing
      throw err;
    }
    if (node.metadata?.annotations?.[BACKEND_TYPE_ANNOTATION] === undefined) return;
    await asNode.patch(NODES, undefined, o.nodeName, 'merge', { metadata: { annotations: { [BACKEND_TYPE_ANNOTATION]: null, [BACKEND_DATA_ANNOTATION]: null, [PUBLIC_IP_ANNOTATION]: null } } });
  } finally {
    asNode.close();
  }
}
