// host-gw routes from Node objects (upstream analogue: flannel's host-gw backend): this
// machine routes every other node's pod CIDR via that node's InternalIP, when that IP is
// on a directly connected network (a next hop must be on-link). Nodes that are not are
// left to the default route (their traffic goes through the gateway, which routes them
// when it is a node — as the control plane's host is for a joined machine), and logged.
// Used by `kite join` (the joined machine) and by the control plane's host (for joined
// nodes; its own worker namespaces have their routes from agent/workers.ts).
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ApiTransport } from '../client/transport.js';
import { NodeFollower } from './node-follower.js';
import { commandRunner, type CommandRunner } from '../proxy/exec.js';

export interface HostGwRoutesOptions {
  transport: ApiTransport;
  /** This machine's own node (its pod CIDR is local). */
  selfName?: string;
  /** Nodes whose routes someone else keeps (the host's worker namespaces). */
  skip?: (node: Node) => boolean;
  log: (m: string) => void;
  run?: CommandRunner;
}

function internalIP(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

export class HostGwRoutes {
  private readonly nodes: NodeFollower;
  /** node name → the route we installed: `podCIDR via ip`. */
  private readonly installed = new Map<string, { cidr: string; via: string }>();
  private readonly warned = new Set<string>();
  /** node name → the pod CIDR and address last acted on. */
  private readonly decided = new Map<string, string>();
  private readonly run: CommandRunner;

  constructor(private readonly o: HostGwRoutesOptions) {
    this.run = o.run ?? commandRunner();
    this.nodes = new NodeFollower(o.transport, { sync: (n) => this.syncNode(n), remove: (name) => this.remove(name), log: (m) => o.log(`routes: ${m}`) });
  }

  start(): void {
    this.nodes.start();
  }

  private async onLink(ip: string): Promise<boolean> {
    const r = await this.run(['ip', 'route', 'get', ip]);
    return r.code === 0 && !/ via /.test(r.stdout);
  }

  private async syncNode(n: Node): Promise<void> {
    const name = n.metadata!.name!;
    if (name === this.o.selfName || this.o.skip?.(n)) return;
    const cidr = n.spec?.podCIDR;
    const ip = internalIP(n);
    // Node status changes every few seconds: only a new pod CIDR or address is looked at
    // again (no `ip` process per heartbeat, hollow nodes included).
    const key = `${cidr ?? ''}|${ip ?? ''}`;
    if (this.decided.get(name) === key) return;
    const had = this.installed.get(name);
    if (had && (had.cidr !== cidr || had.via !== ip)) await this.remove(name);
    if (!cidr || !ip || this.installed.has(name)) return;
    this.decided.set(name, key);
    if (!(await this.onLink(ip))) {
      // (Logged for the first few only: hollow nodes have made-up addresses.)
      if (!this.warned.has(name) && this.warned.size < 5) this.o.log(`routes: node ${name} (${ip}) is not on a connected network; its pods (${cidr}) are reached through the default route`);
      this.warned.add(name);
      return;
    }
    const r = await this.run(['ip', 'route', 'replace', cidr, 'via', ip]);
    if (r.code !== 0) {
      this.decided.delete(name); // tried again at the node's next change
      throw new Error(`route ${cidr} via ${ip}: ${r.stderr.trim()}`);
    }
    this.installed.set(name, { cidr, via: ip });
    this.o.log(`routes: ${cidr} via ${ip} (node ${name})`);
  }

  private async remove(name: string): Promise<void> {
    this.decided.delete(name);
    const had = this.installed.get(name);
    if (!had) return;
    this.installed.delete(name);
    await this.run(['ip', 'route', 'del', had.cidr, 'via', had.via]);
  }

  async stop(): Promise<void> {
    await this.nodes.stop();
    for (const name of [...this.installed.keys()]) await this.remove(name);
  }
}
