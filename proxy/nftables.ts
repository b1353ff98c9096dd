// The proxy in the kernel, nftables flavour (upstream: pkg/proxy/nftables/proxier.go).
// One table, `ip kite-proxy`:
//
//   base chains  filter-prerouting/input/forward/output (priority -110, before DNAT)
//                nat-prerouting, nat-output (-100), nat-postrouting (100)
//   dispatch     services: `ip daddr . meta l4proto . th dport vmap @service-ips`, then
//                `fib daddr type local meta l4proto . th dport vmap @service-nodeports`
//                (every local address, 127.0.0.1 too: route_localnet is turned on)
//   no endpoints endpoints-check (new connections, filter hooks): @no-endpoint-services /
//                @no-endpoint-nodeports → reject-chain (REJECT) or drop (Local policy
//                with no local endpoint)
//   LB ranges    firewall-check (filter-prerouting/output): @firewall-ips → firewall-<svc>
//   masquerade   mark-for-masquerade sets 0x4000; masquerading (postrouting) SNATs
//                marked packets
//   per port     service-<hash>-ns/name/proto/port   numgen random → endpoints (see `balance`)
//                local-<hash>-…                       the same over node-local endpoints
//                external-<hash>-…                    NodePort/LB/external IP entry:
//                                                     masquerade (Cluster policy) or
//                                                     short-circuit pod/host traffic (Local)
//                endpoint-<hash>-…__ip/port           hairpin masquerade, affinity update,
//                                                     DNAT
//                affinity-<hash>-… set                ClientIP affinity, with timeout
//
// Unlike upstream (which rebuilds the whole table on every sync) a change to one
// Service rewrites only that Service's chains, sets and map elements: the proxier
// keeps what it programmed, renders the changed Services again and sends the
// difference as one nft transaction. A full sync (start, periodic) rewrites
// everything. Chains that fall out of use are flushed at once and deleted a second
// later (a map element may still point at them within the same transaction).
import { createHash } from 'node:crypto';
import type { EndpointInfo, ServicePort, ServicePortState } from './model.js';
import { categorize } from './model.js';
import type { CommandRunner } from './exec.js';
import { mustRun } from './exec.js';

export const NFT_TABLE = 'kite-proxy';
export const MASQ_MARK = '0x4000';

export interface NftElement {
  map: 'service-ips' | 'service-nodeports' | 'no-endpoint-services' | 'no-endpoint-nodeports' | 'firewall-ips';
  key: string;
  value: string;
}

/** Everything one ServicePort puts in the table. */
export interface RenderedPort {
  /** Chain name → its rules, in order. */
  chains: Map<string, string[]>;
  /** Affinity set name → timeout (s). */
  sets: Map<string, number>;
  elements: NftElement[];
}

export interface RenderOptions {
  /** Pod network; ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /**
   * How a service chain picks an endpoint. `cascade` (default): one rule per endpoint,
   * `numgen random mod (N-i) == 0 goto endpoint-i` — even, and no sets. `vmap`:
   * upstream's single `numgen random mod N vmap { … }` rule. Both are uniform; the
   * vmap makes one anonymous map per Service, which the kernel creates in time
   * quadratic in their number (10,000 Services: ~100 s instead of ~5 s).
   */
  balance?: 'cascade' | 'vmap';
}

function hashed(name: string): string {
  const h = createHash('sha256').update(name).digest('hex').slice(0, 8).toUpperCase();
  const out = `${h}-${name}`;
  return out.length > 240 ? `${out.slice(0, 237)}...` : out;
}

export function portChainBase(sp: ServicePort): string {
  return hashed(`${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}`);
}

export function endpointChainBase(sp: ServicePort, ep: EndpointInfo): string {
  return hashed(`${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}__${ep.ip}/${ep.port}`);
}

/** Chains this proxier owns per Service (as opposed to the fixed ones). */
export function isServiceChain(name: string): boolean {
  return name.includes('/');
}

/** What one ServicePort needs, as chains, sets and map elements. Pure. */
export function renderServicePort(state: ServicePortState, opts: RenderOptions): RenderedPort {
  const { svc: sp, endpoints } = state;
  const out: RenderedPort = { chains: new Map(), sets: new Map(), elements: [] };
  if (!sp.clusterIP) return out;
  const base = portChainBase(sp);
  const clusterChain = `service-${base}`;
  const localChain = `local-${base}`;
  const externalChain = `external-${base}`;
  const firewallChain = `firewall-${base}`;
  const proto = sp.protocol;
  const { cluster, local, hasAny } = categorize(endpoints);

  const usesCluster = cluster.length > 0;
  const usesLocal = local.length > 0 && (sp.internalPolicyLocal || sp.externalPolicyLocal);
  const internalChain = sp.internalPolicyLocal ? localChain : clusterChain;
  const hasInternal = sp.internalPolicyLocal ? local.length > 0 : hasAny;
  const hasExternal = sp.externalPolicyLocal ? local.length > 0 : hasAny;
  const externallyAccessible = !!sp.nodePort || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
  const usesExternal = hasAny && externallyAccessible;

  // Endpoint chains for every endpoint any policy chain uses.
  const reachable = new Map<string, EndpointInfo>();
  if (usesCluster) for (const e of cluster) reachable.set(`${e.ip}:${e.port}`, e);
  if (usesLocal) for (const e of local) reachable.set(`${e.ip}:${e.port}`, e);
  const epChain = (e: EndpointInfo) => `endpoint-${endpointChainBase(sp, e)}`;
  const epSet = (e: EndpointInfo) => `affinity-${endpointChainBase(sp, e)}`;

  const noEndpointVerdict = (has: boolean) => (hasAny ? (has ? undefined : 'drop') : 'goto reject-chain');
  const key = (ip: string, port: number) => `${ip} . ${proto} . ${port}`;

  // ClusterIP.
  if (hasInternal) out.elements.push({ map: 'service-ips', key: key(sp.clusterIP, sp.port), value: `goto ${internalChain}` });
  else out.elements.push({ map: 'no-endpoint-services', key: key(sp.clusterIP, sp.port), value: noEndpointVerdict(false)! });

  // External IPs and load-balancer ingress IPs.
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
    if (usesExternal) out.elements.push({ map: 'service-ips', key: key(ip, sp.port), value: `goto ${externalChain}` });
    const v = noEndpointVerdict(hasExternal);
    if (v) out.elements.push({ map: 'no-endpoint-services', key: key(ip, sp.port), value: v });
  }
  const usesFirewall = sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (usesFirewall) {
    for (const ip of sp.loadBalancerIPs) out.elements.push({ map: 'firewall-ips', key: key(ip, sp.port), value: `goto ${firewallChain}` });
    // Traffic from the LB IP itself (a node talking to its own VIP) is allowed.
    out.chains.set(firewallChain, [`ip saddr != { ${[...sp.loadBalancerSourceRanges, ...sp.loadBalancerIPs].join(', ')} } drop`]);
  }

  // NodePort.
  if (sp.nodePort) {
    if (usesExternal) out.elements.push({ map: 'service-nodeports', key: `${proto} . ${sp.nodePort}`, value: `goto ${externalChain}` });
    const v = noEndpointVerdict(hasExternal);
    if (v) out.elements.push({ map: 'no-endpoint-nodeports', key: `${proto} . ${sp.nodePort}`, value: v });
  }

  // Affinity sets.
  if (sp.affinitySeconds > 0) for (const e of reachable.values()) out.sets.set(epSet(e), sp.affinitySeconds);

  const balance = (eps: EndpointInfo[]): string[] => {
    const rules: string[] = [];
    if (sp.affinitySeconds > 0) for (const e of eps) rules.push(`ip saddr @${epSet(e)} goto ${epChain(e)}`);
    if (opts.balance === 'vmap') {
      rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${epChain(e)}`).join(', ')} }`);
    } else {
      // Endpoint i of N is taken with probability 1/(N-i) among what is left: 1/N each.
      eps.forEach((e, i) => rules.push(i === eps.length - 1 ? `goto ${epChain(e)}` : `numgen random mod ${eps.length - i} == 0 goto ${epChain(e)}`));
    }
    return rules;
  };
  const masqRule = opts.masqueradeAll
    ? `ip daddr ${sp.clusterIP} ${proto} dport ${sp.port} jump mark-for-masquerade`
    : opts.clusterCIDR
      ? `ip daddr ${sp.clusterIP} ${proto} dport ${sp.port} ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`
      : undefined;
  if (usesCluster) out.chains.set(clusterChain, [...(internalChain === clusterChain && hasInternal && masqRule ? [masqRule] : []), ...balance(cluster)]);
  if (usesLocal) out.chains.set(localChain, [...(internalChain === localChain && hasInternal && masqRule ? [masqRule] : []), ...balance(local)]);

  if (usesExternal) {
    const rules: string[] = [];
    if (!sp.externalPolicyLocal) {
      rules.push('jump mark-for-masquerade');
    } else {
      // Pods and the node itself reach external addresses as if from outside the
      // node: not subject to the Local policy.
      if (opts.clusterCIDR && usesCluster) rules.push(`ip saddr ${opts.clusterCIDR} goto ${clusterChain}`);
      rules.push('fib saddr type local jump mark-for-masquerade');
      if (usesCluster) rules.push(`fib saddr type local goto ${clusterChain}`);
    }
    if (hasExternal) rules.push(`goto ${sp.externalPolicyLocal ? localChain : clusterChain}`);
    out.chains.set(externalChain, rules);
  }

  for (const e of reachable.values()) {
    const rules = [`ip saddr ${e.ip} jump mark-for-masquerade`];
    if (sp.affinitySeconds > 0) rules.push(`update @${epSet(e)} { ip saddr }`);
    rules.push(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
    out.chains.set(epChain(e), rules);
  }
  return out;
}

// ---- the transaction writer ------------------------------------------------------

const BASE_CHAINS: [name: string, type: string, hook: string, priority: number][] = [
  ['filter-prerouting', 'filter', 'prerouting', -110],
  ['filter-input', 'filter', 'input', -110],
  ['filter-forward', 'filter', 'forward', -110],
  ['filter-output', 'filter', 'output', -110],
  ['nat-prerouting', 'nat', 'prerouting', -100],
  ['nat-output', 'nat', 'output', -100],
  ['nat-postrouting', 'nat', 'postrouting', 100],
];

const MAPS: [name: NftElement['map'], type: string][] = [
  ['service-ips', 'ipv4_addr . inet_proto . inet_service : verdict'],
  ['service-nodeports', 'inet_proto . inet_service : verdict'],
  ['no-endpoint-services', 'ipv4_addr . inet_proto . inet_service : verdict'],
  ['no-endpoint-nodeports', 'inet_proto . inet_service : verdict'],
  ['firewall-ips', 'ipv4_addr . inet_proto . inet_service : verdict'],
];

/** Map elements are claimed per address: ip.proto.port (or proto.port for NodePorts). */
const GROUP_OF: Record<NftElement['map'], string> = {
  'service-ips': 'addr',
  'no-endpoint-services': 'addr',
  'firewall-ips': 'addr',
  'service-nodeports': 'np',
  'no-endpoint-nodeports': 'np',
};
const GROUP_MAPS: Record<string, NftElement['map'][]> = {
  addr: ['service-ips', 'no-endpoint-services', 'firewall-ips'],
  np: ['service-nodeports', 'no-endpoint-nodeports'],
};

interface Claim {
  rank: string;
  /** map → value, for this address. */
  entries: Map<string, string>;
}

export interface SyncStats {
  chainsWritten: number;
  elementsChanged: number;
  scriptBytes: number;
}

export interface ScopeOptions {
  /**
   * With both set, ClusterIP traffic (destination in `serviceCIDR`) is only taken from
   * these interfaces (the node's pod bridge) and from the host itself: another kite
   * cluster on the same host, with the same Service CIDR, keeps its own.
   */
  serviceCIDR?: string;
  podInterfaces?: string[];
}

export interface NftablesOptions extends RenderOptions, ScopeOptions {
  run: CommandRunner;
  table?: string;
  /** Accept NodePorts on 127.0.0.1 (default true; needs route_localnet). */
  localhostNodePorts?: boolean;
  /** How long a chain that fell out of use is kept (flushed) before it is deleted. */
  staleChainDelayMs?: number;
  now?: () => number;
}

export class NftablesProxier {
  readonly table: string;
  private readonly prefix: string;
  /** What is in the kernel for each ServicePort id. */
  private programmed = new Map<string, RenderedPort>();
  /**
   * Who wants which address: `group|key` → ServicePort id → its elements for it. Two
   * Services may claim one address (two LoadBalancers on the node's IP and the same
   * port); the oldest wins, and the other takes over when it goes.
   */
  private readonly claims = new Map<string, Map<string, Claim>>();
  /** Map elements in the kernel: `map|key` → value. */
  private readonly elements = new Map<string, string>();
  private readonly staleChains = new Map<string, number>();
  private initialized = false;
  private readonly now: () => number;

  constructor(private readonly opts: NftablesOptions) {
    this.table = opts.table ?? NFT_TABLE;
    this.prefix = `ip ${this.table}`;
    this.now = opts.now ?? Date.now;
  }

  private async apply(script: string[]): Promise<number> {
    const text = script.join('\n') + '\n';
    await mustRun(this.opts.run, ['nft', '-f', '-'], text);
    return text.length;
  }

  /** The fixed part of the table (base chains, dispatch, masquerading, maps). */
  private skeleton(script: string[]): void {
    const t = this.prefix;
    script.push(`add table ${t} { comment "kite service proxy"; }`);
    for (const [name, type, hook, prio] of BASE_CHAINS) {
      script.push(`add chain ${t} ${name} { type ${type} hook ${hook} priority ${prio}; policy accept; }`, `flush chain ${t} ${name}`);
    }
    for (const c of ['services', 'masquerading', 'mark-for-masquerade', 'endpoints-check', 'firewall-check', 'reject-chain']) script.push(`add chain ${t} ${c}`, `flush chain ${t} ${c}`);
    for (const [name, type] of MAPS) script.push(`add map ${t} ${name} { type ${type}; }`);
    const local = this.opts.localhostNodePorts === false ? 'fib daddr type local ip daddr != 127.0.0.0/8' : 'fib daddr type local';
    const scoped = this.opts.serviceCIDR && this.opts.podInterfaces?.length;
    if (scoped) {
      const guard = `iifname != { ${this.opts.podInterfaces!.map((i) => JSON.stringify(i)).join(', ')} } ip daddr ${this.opts.serviceCIDR} return`;
      script.push(`add rule ${t} nat-prerouting ${guard}`, `add rule ${t} filter-forward ${guard}`);
    }
    script.push(
      `add rule ${t} filter-input ct state new jump endpoints-check`,
      `add rule ${t} filter-forward ct state new jump endpoints-check`,
      `add rule ${t} filter-output ct state new jump endpoints-check`,
      `add rule ${t} filter-prerouting ct state new jump firewall-check`,
      `add rule ${t} filter-output ct state new jump firewall-check`,
      `add rule ${t} nat-prerouting jump services`,
      `add rule ${t} nat-output jump services`,
      `add rule ${t} nat-postrouting jump masquerading`,
      `add rule ${t} mark-for-masquerade meta mark set meta mark or ${MASQ_MARK}`,
      `add rule ${t} masquerading meta mark & ${MASQ_MARK} == 0 return`,
      `add rule ${t} masquerading meta mark set meta mark xor ${MASQ_MARK}`,
      `add rule ${t} masquerading masquerade fully-random`,
      // TCP gets a reset (immediate "connection refused", not subject to ICMP rate limits).
      `add rule ${t} reject-chain meta l4proto tcp reject with tcp reset`,
      `add rule ${t} reject-chain reject`,
      `add rule ${t} endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
      `add rule ${t} endpoints-check ${local} meta l4proto . th dport vmap @no-endpoint-nodeports`,
      `add rule ${t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
      `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
      `add rule ${t} services ${local} meta l4proto . th dport vmap @service-nodeports`,
    );
  }

  private chainRules(script: string[], name: string, rules: readonly string[]): void {
    for (const r of rules) script.push(`add rule ${this.prefix} ${name} ${r}`);
  }

  private setDecl(name: string, timeout: number): string {
    return `add set ${this.prefix} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`;
  }

  /** The claim that wins an address: the oldest Service's. */
  private winner(gid: string): Claim | undefined {
    const c = this.claims.get(gid);
    if (!c || c.size === 0) return undefined;
    let best: Claim | undefined;
    for (const claim of c.values()) if (!best || claim.rank < best.rank) best = claim;
    return best;
  }

  private setClaims(portId: string, rank: string, before: readonly NftElement[], after: readonly NftElement[], touched: Set<string>): void {
    for (const e of before) {
      const gid = `${GROUP_OF[e.map]}|${e.key}`;
      const c = this.claims.get(gid);
      if (c) {
        c.delete(portId);
        if (c.size === 0) this.claims.delete(gid);
      }
      touched.add(gid);
    }
    for (const e of after) {
      const gid = `${GROUP_OF[e.map]}|${e.key}`;
      let c = this.claims.get(gid);
      if (!c) this.claims.set(gid, (c = new Map()));
      let claim = c.get(portId);
      if (!claim) c.set(portId, (claim = { rank, entries: new Map() }));
      claim.entries.set(e.map, e.value);
      touched.add(gid);
    }
  }

  /** Element deletes and adds that bring the kernel's maps to the winning claims. */
  private elementChanges(touched: Iterable<string>): { del: Map<string, string[]>; add: Map<string, string[]>; n: number } {
    const del = new Map<string, string[]>();
    const add = new Map<string, string[]>();
    let n = 0;
    const push = (m: Map<string, string[]>, map: string, v: string) => {
      let l = m.get(map);
      if (!l) m.set(map, (l = []));
      l.push(v);
    };
    for (const gid of touched) {
      const bar = gid.indexOf('|');
      const group = gid.slice(0, bar);
      const key = gid.slice(bar + 1);
      const win = this.winner(gid);
      for (const map of GROUP_MAPS[group]) {
        const id = `${map}|${key}`;
        const want = win?.entries.get(map);
        const have = this.elements.get(id);
        if (want === have) continue;
        if (have !== undefined) push(del, map, key);
        if (want !== undefined) {
          push(add, map, `${key} : ${want}`);
          this.elements.set(id, want);
        } else {
          this.elements.delete(id);
        }
        n++;
      }
    }
    return { del, add, n };
  }

  private writeElements(script: string[], verb: 'add' | 'delete', m: Map<string, string[]>): void {
    for (const [map, items] of m) {
      for (let i = 0; i < items.length; i += 2000) script.push(`${verb} element ${this.prefix} ${map} { ${items.slice(i, i + 2000).join(', ')} }`);
    }
  }

  private expiredStaleChains(): string[] {
    const cutoff = this.now() - (this.opts.staleChainDelayMs ?? 1000);
    const out: string[] = [];
    for (const [name, at] of this.staleChains) {
      if (at <= cutoff) {
        out.push(name);
        this.staleChains.delete(name);
      }
    }
    return out;
  }

  /**
   * Rewrite the whole table from `states` (every ServicePort there is). The first
   * full sync replaces whatever a previous run left, atomically.
   */
  async fullSync(states: readonly ServicePortState[]): Promise<SyncStats> {
    const script: string[] = [];
    if (!this.initialized) {
      script.push(`add table ${this.prefix}`, `delete table ${this.prefix}`);
      this.programmed = new Map();
      this.claims.clear();
      this.elements.clear();
      this.staleChains.clear();
    }
    this.skeleton(script);
    const next = new Map<string, RenderedPort>();
    for (const s of states) next.set(s.svc.id, renderServicePort(s, this.opts));
    const liveChains = new Set<string>();
    const liveSets = new Map<string, number>();
    for (const r of next.values()) {
      for (const c of r.chains.keys()) liveChains.add(c);
      for (const [s, t] of r.sets) liveSets.set(s, t);
    }
    // Chains first (empty), then sets, then rules (which reference both).
    for (const c of liveChains) script.push(`add chain ${this.prefix} ${c}`, `flush chain ${this.prefix} ${c}`);
    const stale: string[] = [];
    const oldSets = new Map<string, number>();
    for (const r of this.programmed.values()) {
      for (const c of r.chains.keys()) if (!liveChains.has(c) && !this.staleChains.has(c)) stale.push(c);
      for (const [s, t] of r.sets) oldSets.set(s, t);
    }
    for (const c of stale) {
      script.push(`flush chain ${this.prefix} ${c}`);
      this.staleChains.set(c, this.now());
    }
    for (const c of liveChains) this.staleChains.delete(c);
    for (const [s, t] of oldSets) if (!liveSets.has(s) || liveSets.get(s) !== t) script.push(`delete set ${this.prefix} ${s}`);
    for (const [s, t] of liveSets) script.push(this.setDecl(s, t));
    let chainsWritten = 0;
    for (const r of next.values()) {
      for (const [c, rules] of r.chains) {
        this.chainRules(script, c, rules);
        chainsWritten++;
      }
    }
    // Maps: flushed and refilled from the claims.
    this.claims.clear();
    this.elements.clear();
    const touched = new Set<string>();
    for (const s of states) this.setClaims(s.svc.id, s.svc.rank, [], next.get(s.svc.id)!.elements, touched);
    for (const [name] of MAPS) script.push(`flush map ${this.prefix} ${name}`);
    const { add, n } = this.elementChanges(touched);
    this.writeElements(script, 'add', add);
    for (const c of this.expiredStaleChains()) script.push(`delete chain ${this.prefix} ${c}`);
    const bytes = await this.apply(script).catch((err) => {
      // The kernel has whatever it had: start over next time.
      this.initialized = false;
      throw err;
    });
    this.initialized = true;
    this.programmed = next;
    return { chainsWritten, elementsChanged: n, scriptBytes: bytes };
  }

  /**
   * Rewrite only what changed for these ServicePorts (undefined: the port is gone).
   * Needs a full sync first.
   */
  async partialSync(changes: ReadonlyMap<string, ServicePortState | undefined>): Promise<SyncStats> {
    if (!this.initialized) throw new Error('nftables proxier: full sync needed first');
    const t = this.prefix;
    const addChains: string[] = [];
    const flushChains: string[] = [];
    const setOps: string[] = [];
    const rules: string[] = [];
    const touched = new Set<string>();
    const next = new Map<string, RenderedPort | undefined>();
    let chainsWritten = 0;
    const nowMs = this.now();
    const staleNow: string[] = [];
    for (const [id, state] of changes) {
      const before = this.programmed.get(id);
      const after = state ? renderServicePort(state, this.opts) : undefined;
      next.set(id, after);
      for (const [c, rs] of after?.chains ?? []) {
        const old = before?.chains.get(c);
        if (old && old.length === rs.length && old.every((r, i) => r === rs[i]) && !this.staleChains.has(c)) continue;
        if (!old) addChains.push(`add chain ${t} ${c}`);
        if (old || this.staleChains.has(c)) flushChains.push(`flush chain ${t} ${c}`);
        this.staleChains.delete(c);
        this.chainRules(rules, c, rs);
        chainsWritten++;
      }
      for (const c of before?.chains.keys() ?? []) {
        if (after?.chains.has(c)) continue;
        flushChains.push(`flush chain ${t} ${c}`);
        staleNow.push(c);
      }
      for (const [s, timeout] of before?.sets ?? []) {
        if (after?.sets.get(s) !== timeout) setOps.push(`delete set ${t} ${s}`);
      }
      for (const [s, timeout] of after?.sets ?? []) {
        if (before?.sets.get(s) !== timeout) setOps.push(this.setDecl(s, timeout));
      }
      // A set re-made (timeout change) loses the rules that used it: rewrite those chains.
      if (before && after) {
        for (const [s, timeout] of after.sets) {
          if (before.sets.has(s) && before.sets.get(s) !== timeout) {
            for (const [c, rs] of after.chains) {
              if (!rs.some((r) => r.includes(`@${s} `) || r.endsWith(`@${s}`))) continue;
              if (!flushChains.includes(`flush chain ${t} ${c}`)) {
                flushChains.push(`flush chain ${t} ${c}`);
                this.chainRules(rules, c, rs);
              }
            }
          }
        }
      }
      this.setClaims(id, state?.svc.rank ?? '', before?.elements ?? [], after?.elements ?? [], touched);
    }
    const { del, add, n } = this.elementChanges(touched);
    const script: string[] = [...addChains, ...flushChains, ...setOps, ...rules];
    this.writeElements(script, 'delete', del);
    this.writeElements(script, 'add', add);
    for (const c of this.expiredStaleChains()) {
      // Still in use again? Then it was re-added above and is not stale.
      script.push(`delete chain ${t} ${c}`);
    }
    for (const c of staleNow) this.staleChains.set(c, nowMs);
    if (script.length === 0) return { chainsWritten: 0, elementsChanged: 0, scriptBytes: 0 };
    let bytes: number;
    try {
      bytes = await this.apply(script);
    } catch (err) {
      // Unknown kernel state: the next sync must be a full one.
      this.initialized = false;
      throw err;
    }
    for (const [id, r] of next) {
      if (r) this.programmed.set(id, r);
      else this.programmed.delete(id);
    }
    return { chainsWritten, elementsChanged: n, scriptBytes: bytes };
  }

  /** Chains waiting to be deleted (for a timer to sync again once they are due). */
  get pendingStaleChains(): number {
    return this.staleChains.size;
  }

  /** Delete chains whose grace period is over (nothing else). */
  async deleteStaleChains(): Promise<void> {
    const due = this.expiredStaleChains();
    if (due.length === 0 || !this.initialized) return;
    await this.apply(due.map((c) => `delete chain ${this.prefix} ${c}`));
  }

  /** Remove the table. */
  async cleanup(): Promise<void> {
    await mustRun(this.opts.run, ['nft', '-f', '-'], `add table ${this.prefix}\ndelete table ${this.prefix}\n`);
    this.initialized = false;
    this.programmed.clear();
    this.claims.clear();
    this.elements.clear();
    this.staleChains.clear();
  }
}
