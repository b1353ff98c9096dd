// The proxy in the kernel, nftables flavour (upstream: pkg/proxy/nftables/proxier.go).
// One table, `ip kite-proxy[-<cluster>]`:
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
//                marked packets, and hairpin traffic (a pod reaching itself through a
//                Service: source . destination in @hairpin after DNAT)
//   endpoints    maps @cluster-ips-<proto>, @local-ips-<proto> (address . proto . port .
//                index → endpoint address . port) and @cluster-nodeports-<proto>,
//                @local-nodeports-<proto> (proto . port . index → endpoint)
//   shared       clusterip-<proto>-<N>, external-…, nodeport-…, …-local-…: one chain per
//                protocol and endpoint count N, `dnat ip to ip daddr . meta l4proto .
//                th dport . numgen random mod N map @cluster-ips-tcp` — uniform over
//                the N endpoints
//   affinity     sticky-<timeout>-<shared chain>: the same with ClientIP affinity, the
//                clients in one shared set @affinity (client . endpoint id), the ids in
//                @affinity-ids / @affinity-nodeport-ids (entry point . index → id)
//   per port     only for loadBalancerSourceRanges (firewall-<hash>-…)
//
// Why not upstream's per-service and per-endpoint chains and sets: `nft` (1.0.6) reads
// every chain and set in the network namespace into its cache before any `add rule`,
// `add element` or `delete` (CPU, nft plus kernel: ~0.7 µs per chain, ~1.5 µs per set),
// so with 10,000 Services (~33,000 chains) each one-Service transaction cost ~110 ms
// before doing anything. Here the number of chains depends on the number of distinct
// endpoint counts and affinity timeouts (plus the source-range Services) and there is
// one affinity set, so a change to one Service is a handful of map elements whatever
// the number of Services, and a full sync is one transaction of map elements.
//
// The proxier keeps a model of what is in the kernel (chains with their rules, map
// elements) and writes only the difference for the changed ServicePorts; it never reads
// the kernel's state back. A full sync (start, periodic) rewrites everything in one
// transaction, re-rendering only the ports whose state changed since they were
// written; through a session that transaction is streamed to nft as it is rendered
// (NftSession.applyStreamed), so nft parses on one core while the proxy renders.
// Chains that fall out of use are flushed at once and deleted a second later (a map
// element may still point at them within the same transaction).
import { createHash } from 'node:crypto';
import type { EndpointInfo, Protocol, ServicePort, ServicePortState } from './model.js';
import { categorize } from './model.js';
import type { CommandRunner, NftSession } from './exec.js';
import { mustRun } from './exec.js';

export const NFT_TABLE = 'kite-proxy';
export const MASQ_MARK = '0x4000';

/** The proxy's table for a cluster: `kite-proxy-<cluster>` (only nft's name characters kept). */
export function proxyTableName(clusterName?: string): string {
  const clean = (clusterName ?? '').replace(/[^A-Za-z0-9_.-]/g, '-');
  return clean ? `${NFT_TABLE}-${clean}` : NFT_TABLE;
}

export type MapName =
  | 'service-ips'
  | 'service-nodeports'
  | 'no-endpoint-services'
  | 'no-endpoint-nodeports'
  | 'firewall-ips'
  | EndpointMap
  | AffinityIdMap
  | 'hairpin';

/** ClientIP affinity: entry point . endpoint index → the endpoint's affinity id (see affinityDnat). */
export type AffinityIdMap = 'affinity-ids' | 'affinity-nodeport-ids';

/** Endpoints by index, per protocol (the DNAT target's port type is the protocol's). */
export type EndpointMap = `${'cluster' | 'local'}-${'ips' | 'nodeports'}-${Protocol}`;

export interface NftElement {
  map: MapName;
  /**
   * What the element belongs to, for claims: `addr|<ip . proto . port>`,
   * `np|<proto . port>` (NodePort) or `hp|<ip>` (hairpin). Elements of one group are
   * claimed together: the oldest Service claiming an address gets all of them.
   */
  group: string;
  key: string;
  /** The map value; '' for set elements (hairpin). */
  value: string;
}

/** Everything one ServicePort puts in the table. */
export interface RenderedPort {
  /** Chains of this ServicePort only (loadBalancerSourceRanges): name → rules, in order. */
  chains: ReadonlyMap<string, string[]>;
  /**
   * ClientIP affinity: endpoint key (port, endpoint, timeout) → the endpoint's id in
   * the shared @affinity set (whose elements are client address . id), written to
   * @affinity-ids / @affinity-nodeport-ids for every entry point.
   */
  affinity: ReadonlyMap<string, number>;
  /** Shared chains the elements jump to (see sharedChainRules). */
  shared: readonly string[];
  elements: NftElement[];
}

export interface RenderOptions {
  /** Pod network; ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /**
   * The id of an affinity endpoint key in @affinity. The proxier hands out a fresh id
   * whenever an endpoint (re)appears, so clients it had before start afresh, as with
   * upstream's set per endpoint; without it (pure rendering) a hash of the key.
   */
  affinityId?: (key: string) => number;
}

/** A 32-bit id from a key (ids for pure rendering; the proxier allocates its own). */
function hashedId(key: string): number {
  return parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16);
}

function hashed(name: string): string {
  const h = createHash('sha256').update(name).digest('hex').slice(0, 8).toUpperCase();
  const out = `${h}-${name}`;
  return out.length > 240 ? `${out.slice(0, 237)}...` : out;
}

export function portChainBase(sp: ServicePort): string {
  return hashed(`${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}`);
}

/** Chains this proxier owns per Service (as opposed to the fixed and shared ones). */
export function isServiceChain(name: string): boolean {
  return name.includes('/');
}

function masqRule(opts: RenderOptions): string | undefined {
  if (opts.masqueradeAll) return 'jump mark-for-masquerade';
  return opts.clusterCIDR ? `ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade` : undefined;
}

function endpointMap(kind: 'ip' | 'np', local: boolean, proto: Protocol): EndpointMap {
  return `${local ? 'local' : 'cluster'}-${kind === 'ip' ? 'ips' : 'nodeports'}-${proto}`;
}

function dnatVia(kind: 'ip' | 'np', local: boolean, proto: Protocol, n: number): string {
  const map = endpointMap(kind, local, proto);
  // nft 1.0.6 needs the network protocol known before a DNAT whose key starts with a
  // transport field (`ip version 4`); `ip protocol` in the map's typeof instead would
  // not load back from the kernel.
  if (kind === 'ip') return `dnat ip to ip daddr . meta l4proto . th dport . numgen random mod ${n} map @${map}`;
  return `ip version 4 dnat ip to meta l4proto . th dport . numgen random mod ${n} map @${map}`;
}

/**
 * Where an endpoint's index in a local map starts in @affinity-ids (cluster and local
 * lists index the same endpoints differently; an entry point may use both).
 */
const LOCAL_INDEX_BASE = 65536;

/**
 * ClientIP affinity, the rules that DNAT to one of the N endpoints of a map (each
 * prefixed by `cond`): a client seen within the timeout goes back to its endpoint, others
 * are spread evenly (endpoint i with probability 1/(N-i) among what is left). The clients
 * are in one shared set @affinity as `client . endpoint id`; the id of the endpoint at
 * index i comes from @affinity-ids (an element per entry point of the Service — ClusterIP,
 * external and load-balancer IPs, NodePort — so one client has one endpoint through all
 * of them, as with upstream's set per endpoint). nft 1.0.6 cannot put a map lookup inside
 * a concatenation, so the id goes through the connection's mark: looked up into `ct
 * mark`, matched and stored as `ip saddr . ct mark`, and the mark set back to 0 before
 * the DNAT. The sticky chain sends connections that already carry a mark (someone
 * else's) to the plain chain first: they are balanced without affinity, their mark kept.
 */
function affinityDnat(cond: string, kind: 'ip' | 'np', local: boolean, proto: Protocol, n: number, timeout: number): string[] {
  const entry = kind === 'ip' ? 'ip daddr . meta l4proto . th dport' : 'meta l4proto . th dport';
  const ids: AffinityIdMap = kind === 'ip' ? 'affinity-ids' : 'affinity-nodeport-ids';
  const map = endpointMap(kind, local, proto);
  const idOf = (i: number) => `ct mark set ${entry} . numgen inc mod 1 offset ${local ? LOCAL_INDEX_BASE + i : i} map @${ids}`;
  const remember = `update @affinity { ip saddr . ct mark timeout ${timeout}s } ct mark set 0`;
  const to = (i: number) => (kind === 'ip' ? '' : 'ip version 4 ') + `dnat ip to ${entry} . numgen inc mod 1 offset ${i} map @${map}`;
  const rules: string[] = [];
  if (n === 0) return rules;
  for (let i = 0; i < n; i++) rules.push(`${cond}${idOf(i)} ip saddr . ct mark @affinity ${remember} ${to(i)}`);
  for (let i = 0; i < n; i++) rules.push(`${cond}${i < n - 1 ? `numgen random mod ${n - i} == 0 ` : ''}${idOf(i)} ${remember} ${to(i)}`);
  // With the set full the update fails, and with it the rule: the connection then goes
  // on without affinity rather than nowhere (upstream's update is a rule of its own).
  rules.push(`${cond}ct mark set 0 ${to(n - 1)}`);
  return rules;
}

/**
 * The rules of a shared chain, from its name (pure):
 *   clusterip-P-N, clusterip-local-P-N   (P the protocol) ClusterIP: masquerade off-cluster sources, DNAT
 *                                        to one of N cluster (node-local) endpoints
 *   external-P-N, nodeport-P-N           external IP / LB IP / NodePort, Cluster policy:
 *                                        masquerade, DNAT to one of N
 *   external-local-P-C-L, nodeport-local-P-C-L  Local policy: pods and the node itself go to
 *                                        one of the C cluster endpoints (masqueraded
 *                                        from the node), others to one of L local ones
 *   sticky-T-<any of these>              the same with ClientIP affinity, timeout T seconds
 *                                        (affinityDnat)
 */
export function sharedChainRules(name: string, opts: RenderOptions): string[] | undefined {
  const sticky = /^sticky-(\d+)-(.+)$/.exec(name);
  const timeout = sticky ? Number(sticky[1]) : 0;
  const plain = sticky ? sticky[2] : name;
  const dnat = (cond: string, kind: 'ip' | 'np', local: boolean, proto: Protocol, n: number): string[] =>
    timeout > 0 ? affinityDnat(cond, kind, local, proto, n, timeout) : [cond + dnatVia(kind, local, proto, n)];
  const rules = (() => {
    let m = /^clusterip-(local-)?(tcp|udp|sctp)-(\d+)$/.exec(plain);
    if (m) {
      const masq = masqRule(opts);
      return [...(masq ? [masq] : []), ...dnat('', 'ip', !!m[1], m[2] as Protocol, Number(m[3]))];
    }
    m = /^(external|nodeport)-(tcp|udp|sctp)-(\d+)$/.exec(plain);
    if (m) return ['jump mark-for-masquerade', ...dnat('', m[1] === 'external' ? 'ip' : 'np', false, m[2] as Protocol, Number(m[3]))];
    m = /^(external|nodeport)-local-(tcp|udp|sctp)-(\d+)-(\d+)$/.exec(plain);
    if (m) {
      const kind = m[1] === 'external' ? 'ip' : 'np';
      const proto = m[2] as Protocol;
      const c = Number(m[3]);
      const l = Number(m[4]);
      const out: string[] = [];
      // Pods and the node itself reach external addresses as if from outside the node:
      // not subject to the Local policy.
      if (opts.clusterCIDR) out.push(...dnat(`ip saddr ${opts.clusterCIDR} `, kind, false, proto, c));
      out.push('fib saddr type local jump mark-for-masquerade', ...dnat('fib saddr type local ', kind, false, proto, c));
      if (l > 0) out.push(...dnat('', kind, true, proto, l));
      return out;
    }
    return undefined;
  })();
  if (!rules || !sticky) return rules;
  return [`ct mark != 0 goto ${plain}`, ...rules];
}

/** Shared by every rendered port without chains or affinity ids of its own (never written to). */
const NONE = new Map<never, never>();

/** What one ServicePort needs, as map elements, shared chains and (rarely) its own chains. Pure. */
export function renderServicePort(state: ServicePortState, opts: RenderOptions): RenderedPort {
  const { svc: sp, endpoints } = state;
  // Most ports have no chains or affinity ids of their own: those share the empty ones.
  const out: { chains: Map<string, string[]>; affinity: Map<string, number>; shared: string[]; elements: NftElement[] } = { chains: NONE, affinity: NONE, shared: [], elements: [] };
  if (sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0) out.chains = new Map();
  if (sp.affinitySeconds > 0) out.affinity = new Map();
  if (!sp.clusterIP) return out;
  const proto = sp.protocol;
  const { cluster, local, hasAny } = categorize(endpoints);
  const c = cluster.length;
  const l = local.length;
  const hasInternal = sp.internalPolicyLocal ? l > 0 : hasAny;
  const hasExternal = sp.externalPolicyLocal ? l > 0 : hasAny;
  const externallyAccessible = !!sp.nodePort || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
  const usesExternal = hasAny && externallyAccessible;
  const affinity = sp.affinitySeconds > 0;

  const noEndpointVerdict = (has: boolean) => (hasAny ? (has ? undefined : 'drop') : 'goto reject-chain');
  const addrKey = (ip: string) => `${ip} . ${proto} . ${sp.port}`;
  const npKey = `${proto} . ${sp.nodePort}`;
  const el = (map: MapName, group: string, key: string, value: string) => out.elements.push({ map, group, key, value });
  const hairpin = new Map<string, EndpointInfo>();
  // ClientIP affinity: an endpoint's id, the same through every entry point (see affinityDnat).
  const affinityId = (e: EndpointInfo) => {
    const key = `${sp.namespace}/${sp.name}/${proto}/${sp.portName}__${e.ip}/${e.port}|${sp.affinitySeconds}`;
    let id = out.affinity.get(key);
    if (id === undefined) out.affinity.set(key, (id = opts.affinityId ? opts.affinityId(key) : hashedId(key)));
    return id;
  };
  const endpointElements = (kind: 'ip' | 'np', isLocal: boolean, group: string, key: string, eps: readonly EndpointInfo[]) => {
    const map = endpointMap(kind, isLocal, proto);
    eps.forEach((e, i) => {
      el(map, group, `${key} . ${i}`, `${e.ip} . ${e.port}`);
      if (affinity) el(kind === 'ip' ? 'affinity-ids' : 'affinity-nodeport-ids', group, `${key} . ${isLocal ? LOCAL_INDEX_BASE + i : i}`, String(affinityId(e)));
      hairpin.set(e.ip, e);
    });
  };
  // Every port goes to shared chains; with affinity to their sticky variant (whose first
  // rule may send a connection on to the plain one).
  const shared = (name: string) => {
    const target = affinity ? `sticky-${sp.affinitySeconds}-${name}` : name;
    for (const n of affinity ? [target, name] : [name]) if (!out.shared.includes(n)) out.shared.push(n);
    return `goto ${target}`;
  };
  const internalTarget = () => shared(sp.internalPolicyLocal ? `clusterip-local-${proto}-${l}` : `clusterip-${proto}-${c}`);
  const externalTarget = (kind: 'external' | 'nodeport') => shared(sp.externalPolicyLocal ? `${kind}-local-${proto}-${c}-${l}` : `${kind}-${proto}-${c}`);

  // ClusterIP.
  const cipKey = addrKey(sp.clusterIP);
  const cipGroup = `addr|${cipKey}`;
  if (hasInternal) {
    el('service-ips', cipGroup, cipKey, internalTarget());
    endpointElements('ip', sp.internalPolicyLocal, cipGroup, cipKey, sp.internalPolicyLocal ? local : cluster);
  } else {
    el('no-endpoint-services', cipGroup, cipKey, noEndpointVerdict(false)!);
  }

  // External IPs and load-balancer ingress IPs.
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
    const k = addrKey(ip);
    const g = `addr|${k}`;
    if (usesExternal) {
      el('service-ips', g, k, externalTarget('external'));
      endpointElements('ip', false, g, k, cluster);
      if (sp.externalPolicyLocal) endpointElements('ip', true, g, k, local);
    }
    const v = noEndpointVerdict(hasExternal);
    if (v) el('no-endpoint-services', g, k, v);
  }
  if (sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0) {
    const firewallChain = `firewall-${portChainBase(sp)}`;
    for (const ip of sp.loadBalancerIPs) el('firewall-ips', `addr|${addrKey(ip)}`, addrKey(ip), `goto ${firewallChain}`);
    // Traffic from the LB IP itself (a node talking to its own VIP) is allowed.
    out.chains.set(firewallChain, [`ip saddr != { ${[...sp.loadBalancerSourceRanges, ...sp.loadBalancerIPs].join(', ')} } drop`]);
  }

  // NodePort.
  if (sp.nodePort) {
    const g = `np|${npKey}`;
    if (usesExternal) {
      el('service-nodeports', g, npKey, externalTarget('nodeport'));
      endpointElements('np', false, g, npKey, cluster);
      if (sp.externalPolicyLocal) endpointElements('np', true, g, npKey, local);
    }
    const v = noEndpointVerdict(hasExternal);
    if (v) el('no-endpoint-nodeports', g, npKey, v);
  }

  // A pod reaching itself through the Service is masqueraded (hairpin). Only endpoints
  // on this node can: another node's pod reaches a Service through its own node's
  // proxy, which DNATs it there (and external entry points with Cluster policy
  // masquerade everything anyway) — so the set stays as small as this node's pods.
  for (const [ip, e] of hairpin) if (e.isLocal) el('hairpin', `hp|${ip}`, `${ip} . ${ip}`, '');
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

const MAPS: [name: MapName, kind: 'map' | 'set', type: string][] = [
  ['service-ips', 'map', 'type ipv4_addr . inet_proto . inet_service : verdict'],
  ['service-nodeports', 'map', 'type inet_proto . inet_service : verdict'],
  ['no-endpoint-services', 'map', 'type ipv4_addr . inet_proto . inet_service : verdict'],
  ['no-endpoint-nodeports', 'map', 'type inet_proto . inet_service : verdict'],
  ['firewall-ips', 'map', 'type ipv4_addr . inet_proto . inet_service : verdict'],
  // The value's port is typed by protocol (`tcp dport`): with `th dport` nft 1.0.6 cannot
  // use the map once it reads it back from the kernel ("conflicting protocols").
  ...(['tcp', 'udp', 'sctp'] as const).flatMap((p): [MapName, 'map', string][] =>
    (['ip', 'np'] as const).flatMap((kind) =>
      [false, true].map((isLocal): [MapName, 'map', string] => [
        endpointMap(kind, isLocal, p),
        'map',
        `typeof ${kind === 'ip' ? 'ip daddr . ' : ''}meta l4proto . th dport . numgen random mod 2 : ip daddr . ${p} dport`,
      ]),
    ),
  ),
  ['affinity-ids', 'map', 'typeof ip daddr . meta l4proto . th dport . numgen inc mod 2 : ct mark'],
  ['affinity-nodeport-ids', 'map', 'typeof meta l4proto . th dport . numgen inc mod 2 : ct mark'],
  ['hairpin', 'set', 'type ipv4_addr . ipv4_addr'],
];

const AFFINITY_SET_SIZE = 1048576;

/**
 * Elements per `add element` statement (nft's parser is linear in them; this bounds
 * line length and how much a streamed full sync holds back from nft).
 */
const ELEMENTS_PER_STATEMENT = 1000;

/** A streamed full sync hands its text to nft in pieces of about this size… */
const STREAM_CHUNK_BYTES = 64 * 1024;
/** …looking whether one is due every so many ports rendered. */
const YIELD_EVERY_PORTS = 200;

/** Where a transaction's lines are written. */
type Lines = Pick<string[], 'push'>;

/** A transaction's text: kept whole, or handed to nft piece by piece (`write`) while it is being written. */
class ScriptWriter {
  readonly lines: string[] = [];
  private pendingBytes = 0;
  bytes = 0;

  constructor(private readonly write?: (chunk: string) => Promise<void>) {}

  push(...lines: string[]): number {
    for (const l of lines) {
      this.lines.push(l);
      this.pendingBytes += l.length + 1;
      this.bytes += l.length + 1;
    }
    return this.lines.length;
  }

  /** Streaming: hands the lines so far to nft once they make a piece (one piece in flight). */
  async flushSome(): Promise<void> {
    if (this.write && this.pendingBytes >= STREAM_CHUNK_BYTES) await this.flush();
  }

  /** Streaming: hands over the rest. */
  async end(): Promise<void> {
    if (this.write && this.lines.length > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.lines.join('\n') + '\n';
    this.lines.length = 0;
    this.pendingBytes = 0;
    await this.write!(chunk);
  }
}

/** What a full sync's transaction, once committed, leaves in the model. */
interface FullSyncPlan {
  next: Map<string, RenderedPort>;
  nextStates: Map<string, ServicePortState>;
  wanted: Map<string, readonly string[]>;
  stats: SyncStats;
}

interface Claim {
  portId: string;
  rank: string;
  /** This port's elements in the group. */
  elements: NftElement[];
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
  /** Entries the shared ClientIP-affinity set holds (default 1,048,576; tests fill a small one). */
  affinitySetSize?: number;
  /** How long a chain that fell out of use is kept (flushed) before it is deleted. */
  staleChainDelayMs?: number;
  now?: () => number;
  /**
   * Where transactions go: a long-running `nft -i` (startProxy gives one), or this
   * function (tests record them); default one `nft -f -` per transaction through `run`.
   */
  session?: Pick<NftSession, 'apply' | 'applyStreamed'>;
  apply?: (script: string) => Promise<void>;
}

/** One transaction's pieces, in the order nft must see them. */
interface Txn {
  addChains: string[];
  flushChains: string[];
  rules: string[];
}

export class NftablesProxier {
  readonly table: string;
  private readonly prefix: string;
  /** What is in the kernel for each ServicePort id. */
  private programmed = new Map<string, RenderedPort>();
  /** The state each programmed port was rendered from (a resync re-renders only what differs). */
  private states = new Map<string, ServicePortState>();
  /** Chains in the kernel (per-port and shared) → their rules; flushed stale ones have []. */
  private readonly kernelChains = new Map<string, readonly string[]>();
  /** How many programmed ports use each shared chain. */
  private readonly sharedRefs = new Map<string, number>();
  /**
   * Who wants which group (NftElement.group) → the ports' elements for it. Two
   * Services may claim one address (two LoadBalancers on the node's IP and the same
   * port); the oldest wins, and the other takes over when it goes.
   */
  private readonly claims = new Map<string, Claim[]>();
  /** Map elements in the kernel, per group → the winning claim's elements then. */
  private readonly kernelElements = new Map<string, readonly NftElement[]>();
  private readonly staleChains = new Map<string, number>();
  private initialized = false;
  /** Affinity endpoint key → its id in @affinity (see renderAffinityChains). */
  private readonly affinityIds = new Map<string, number>();
  /** Ids are never reused while the set may still hold elements of the old owner. */
  private nextAffinityId = 1;
  private readonly renderOpts: RenderOptions;
  private readonly now: () => number;

  constructor(private readonly opts: NftablesOptions) {
    this.table = opts.table ?? NFT_TABLE;
    this.prefix = `ip ${this.table}`;
    this.now = opts.now ?? Date.now;
    this.renderOpts = {
      clusterCIDR: opts.clusterCIDR,
      masqueradeAll: opts.masqueradeAll,
      affinityId: (key) => {
        let id = this.affinityIds.get(key);
        if (id === undefined) {
          id = this.nextAffinityId;
          this.nextAffinityId = this.nextAffinityId >= 0xffffffff ? 1 : this.nextAffinityId + 1;
          this.affinityIds.set(key, id);
        }
        return id;
      },
    };
  }

  private async apply(script: readonly string[]): Promise<number> {
    const text = script.join('\n') + '\n';
    if (this.opts.apply) await this.opts.apply(text);
    else if (this.opts.session) await this.opts.session.apply(text);
    else await mustRun(this.opts.run, ['nft', '-f', '-'], text);
    return text.length;
  }

  /** The fixed part of the table (base chains, dispatch, masquerading, maps). */
  private skeleton(script: Lines, fresh: boolean): void {
    const t = this.prefix;
    script.push(`add table ${t} { comment "kite service proxy"; }`);
    for (const [name, type, hook, prio] of BASE_CHAINS) {
      script.push(`add chain ${t} ${name} { type ${type} hook ${hook} priority ${prio}; policy accept; }`);
      if (!fresh) script.push(`flush chain ${t} ${name}`);
    }
    for (const c of ['services', 'masquerading', 'mark-for-masquerade', 'endpoints-check', 'firewall-check', 'reject-chain']) {
      script.push(`add chain ${t} ${c}`);
      if (!fresh) script.push(`flush chain ${t} ${c}`);
    }
    for (const [name, kind, type] of MAPS) script.push(`add ${kind} ${t} ${name} { ${type}; }`);
    // ClientIP affinity: client address . endpoint id, filled by the packets (never
    // flushed by a resync). Shared by every affinity endpoint, so sized past upstream's
    // 65,535 per endpoint; without a size nft would pick 65,535.
    script.push(`add set ${t} affinity { typeof ip saddr . ct mark; size ${this.opts.affinitySetSize ?? AFFINITY_SET_SIZE}; flags dynamic,timeout; }`);
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
      // Hairpin: the endpoint is the client (after DNAT, source == destination).
      `add rule ${t} masquerading ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade`,
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

  private chainRules(script: Lines, name: string, rules: readonly string[]): void {
    const head = `add rule ${this.prefix} ${name} `;
    for (const r of rules) script.push(head + r);
  }

  /** The rules a chain should have now, or undefined when nothing uses it. */
  private wantedRules(name: string): readonly string[] | undefined {
    if (this.sharedRefs.has(name)) return sharedChainRules(name, this.opts);
    return undefined;
  }

  private addShared(r: RenderedPort, delta: 1 | -1): void {
    for (const name of r.shared) {
      const n = (this.sharedRefs.get(name) ?? 0) + delta;
      if (n > 0) this.sharedRefs.set(name, n);
      else this.sharedRefs.delete(name);
    }
  }

  /** The claim that wins a group: the oldest Service's. */
  private winner(gid: string): Claim | undefined {
    const c = this.claims.get(gid);
    if (!c || c.length === 0) return undefined;
    let best = c[0];
    for (let i = 1; i < c.length; i++) if (c[i].rank < best.rank) best = c[i];
    return best;
  }

  /** Moves a port's claims from its old elements to its new ones; `touched` gets every group involved. */
  private setClaims(portId: string, rank: string, before: readonly NftElement[], after: readonly NftElement[], touched: Set<string> | undefined): void {
    let lastGid = '';
    for (const e of before) {
      const gid = e.group;
      if (gid === lastGid) continue;
      lastGid = gid;
      const c = this.claims.get(gid);
      if (c) {
        const i = c.findIndex((x) => x.portId === portId);
        if (i >= 0) c.splice(i, 1);
        if (c.length === 0) this.claims.delete(gid);
      }
      touched?.add(gid);
    }
    // Elements of one group come together from renderServicePort (ClusterIP, then each
    // external address, NodePort, hairpin IPs), so a group's claim is built in one run.
    let claim: Claim | undefined;
    lastGid = '';
    for (const e of after) {
      const gid = e.group;
      if (gid !== lastGid || !claim) {
        lastGid = gid;
        let c = this.claims.get(gid);
        if (!c) this.claims.set(gid, (c = []));
        claim = c.find((x) => x.portId === portId);
        if (!claim) c.push((claim = { portId, rank, elements: [] }));
        touched?.add(gid);
      }
      claim.elements.push(e);
    }
  }

  /** Element deletes and adds that bring the kernel's maps to the winning claims (and the model with them). */
  private elementChanges(touched: Iterable<string>): { del: Map<string, string[]>; add: Map<string, string[]>; n: number } {
    const del = new Map<string, string[]>();
    const add = new Map<string, string[]>();
    let n = 0;
    const push = (m: Map<string, string[]>, e: NftElement, withValue: boolean) => {
      let l = m.get(e.map);
      if (!l) m.set(e.map, (l = []));
      l.push(withValue && e.value !== '' ? `${e.key} : ${e.value}` : e.key);
    };
    for (const gid of touched) {
      const want = this.winner(gid)?.elements;
      const have = this.kernelElements.get(gid);
      if (have === want) continue;
      if (!have) {
        for (const e of want!) push(add, e, true);
        n += want!.length;
      } else {
        const wanted = new Map<string, string>();
        for (const e of want ?? []) wanted.set(`${e.map}\t${e.key}`, e.value);
        const had = new Map<string, string>();
        for (const e of have) {
          const id = `${e.map}\t${e.key}`;
          had.set(id, e.value);
          if (wanted.get(id) === e.value) continue;
          push(del, e, false);
          n++;
        }
        for (const e of want ?? []) {
          const id = `${e.map}\t${e.key}`;
          if (had.get(id) === e.value) continue;
          push(add, e, true);
          if (!had.has(id)) n++;
        }
      }
      if (want) this.kernelElements.set(gid, want);
      else this.kernelElements.delete(gid);
    }
    return { del, add, n };
  }

  private writeElements(script: Lines, verb: 'add' | 'delete', m: Map<string, string[]>): void {
    for (const [map, items] of m) {
      for (let i = 0; i < items.length; i += ELEMENTS_PER_STATEMENT) script.push(`${verb} element ${this.prefix} ${map} { ${items.slice(i, i + ELEMENTS_PER_STATEMENT).join(', ')} }`);
    }
  }

  private expiredStaleChains(): string[] {
    const cutoff = this.now() - (this.opts.staleChainDelayMs ?? 1000);
    const out: string[] = [];
    for (const [name, at] of this.staleChains) {
      if (at <= cutoff) {
        out.push(name);
        this.staleChains.delete(name);
        this.kernelChains.delete(name);
      }
    }
    return out;
  }

  private resetModel(): void {
    this.states = new Map();
    // (The table, and the affinity set with it, is deleted: ids may start over.)
    this.affinityIds.clear();
    this.programmed = new Map();
    this.kernelChains.clear();
    this.sharedRefs.clear();
    this.claims.clear();
    this.kernelElements.clear();
    this.staleChains.clear();
  }

  /**
   * Rewrite the whole table from `states` (every ServicePort there is), in one
   * transaction. The first full sync replaces whatever a previous run left,
   * atomically; later ones (periodic) rewrite every chain and map in place, keeping
   * the affinity sets' contents. With a session the transaction is streamed: nft
   * parses the first ports' lines while the later ones are being rendered.
   */
  async fullSync(states: readonly ServicePortState[]): Promise<SyncStats> {
    let planned: FullSyncPlan | undefined;
    try {
      if (this.opts.session && !this.opts.apply) {
        await this.opts.session.applyStreamed(async (write) => {
          const writer = new ScriptWriter(write);
          planned = await this.planFull(states, writer);
          await writer.end();
        });
      } else {
        const writer = new ScriptWriter();
        planned = await this.planFull(states, writer);
        await this.apply(writer.lines);
      }
    } catch (err) {
      // The kernel has whatever it had: start over next time.
      this.initialized = false;
      throw err;
    }
    const plan = planned!;
    this.initialized = true;
    this.programmed = plan.next;
    this.states = plan.nextStates;
    for (const [c, rules] of plan.wanted) this.kernelChains.set(c, rules);
    for (const c of this.staleChains.keys()) this.kernelChains.set(c, []);
    return plan.stats;
  }

  /**
   * Writes a full sync's transaction to `script` as it renders (a port's own chains as
   * soon as it is rendered; then the shared chains, which the map elements jump to,
   * and the elements), and updates the claims and element model as if it succeeded.
   */
  private async planFull(states: readonly ServicePortState[], script: ScriptWriter): Promise<FullSyncPlan> {
    const t = this.prefix;
    const fresh = !this.initialized;
    if (fresh) {
      script.push(`add table ${t}`, `delete table ${t}`);
      this.resetModel();
    }
    this.skeleton(script, fresh);
    const next = new Map<string, RenderedPort>();
    const nextStates = new Map<string, ServicePortState>();
    const wanted = new Map<string, readonly string[]>();
    const liveAffinity = new Set<string>();
    /** Ports rendered afresh (a periodic resync reuses what it rendered for unchanged ones). */
    const changed: string[] = [];
    this.sharedRefs.clear();
    // A chain is added (or flushed) before its rules, which may name its port's other chains.
    const addChain = (c: string, rules: readonly string[]) => {
      wanted.set(c, rules);
      script.push(`add chain ${t} ${c}`);
      if (this.kernelChains.has(c)) script.push(`flush chain ${t} ${c}`);
      this.staleChains.delete(c);
    };
    let i = 0;
    for (const s of states) {
      const id = s.svc.id;
      const old = this.programmed.get(id);
      let r: RenderedPort;
      if (old && sameValue(this.states.get(id), s)) r = old;
      else {
        r = renderServicePort(s, this.renderOpts);
        changed.push(id);
      }
      next.set(id, r);
      nextStates.set(id, s);
      if (r.chains.size > 0) {
        for (const [c, rules] of r.chains) addChain(c, rules);
        for (const [c, rules] of r.chains) this.chainRules(script, c, rules);
      }
      for (const k of r.affinity.keys()) liveAffinity.add(k);
      this.addShared(r, 1);
      if (++i % YIELD_EVERY_PORTS === 0) await script.flushSome();
    }
    for (const k of this.affinityIds.keys()) if (!liveAffinity.has(k)) this.affinityIds.delete(k);
    const sharedNow = [...this.sharedRefs.keys()].map((name): [string, string[]] => [name, sharedChainRules(name, this.opts)!]);
    for (const [name, rules] of sharedNow) addChain(name, rules);
    for (const [name, rules] of sharedNow) this.chainRules(script, name, rules);
    const nowMs = this.now();
    for (const c of this.kernelChains.keys()) {
      if (wanted.has(c) || this.staleChains.has(c)) continue;
      script.push(`flush chain ${t} ${c}`);
      this.staleChains.set(c, nowMs);
    }
    // Maps: flushed and refilled from the claims, which change only for the ports
    // rendered afresh and those gone.
    if (fresh) {
      for (const id of changed) this.setClaims(id, nextStates.get(id)!.svc.rank, [], next.get(id)!.elements, undefined);
      for (const [gid, claims] of this.claims) this.kernelElements.set(gid, (claims.length === 1 ? claims[0] : this.winner(gid)!).elements);
    } else {
      const touched = new Set<string>();
      for (const id of changed) this.setClaims(id, nextStates.get(id)!.svc.rank, this.programmed.get(id)?.elements ?? [], next.get(id)!.elements, touched);
      for (const [id, r] of this.programmed) if (!next.has(id)) this.setClaims(id, '', r.elements, [], touched);
      for (const gid of touched) {
        const win = this.winner(gid);
        if (win) this.kernelElements.set(gid, win.elements);
        else this.kernelElements.delete(gid);
      }
    }
    if (!fresh) for (const [name, kind] of MAPS) script.push(`flush ${kind} ${t} ${name}`);
    // Every group's winner goes in (the maps are empty at this point of the transaction),
    // a statement per map as soon as it has a statement's worth.
    const pending = new Map<string, string[]>();
    let n = 0;
    for (const elements of this.kernelElements.values()) {
      for (const e of elements) {
        let l = pending.get(e.map);
        if (!l) pending.set(e.map, (l = []));
        l.push(e.value !== '' ? `${e.key} : ${e.value}` : e.key);
        if (l.length === ELEMENTS_PER_STATEMENT) {
          script.push(`add element ${t} ${e.map} { ${l.join(', ')} }`);
          pending.delete(e.map);
          await script.flushSome();
        }
      }
      n += elements.length;
    }
    this.writeElements(script, 'add', pending);
    for (const c of this.expiredStaleChains()) script.push(`delete chain ${t} ${c}`);
    return { next, nextStates, wanted, stats: { chainsWritten: wanted.size, elementsChanged: n, scriptBytes: script.bytes } };
  }

  /**
   * Write only what changed for these ServicePorts (undefined: the port is gone): map
   * elements, and the chains and sets whose content changed. Needs a full sync first.
   */
  async partialSync(changes: ReadonlyMap<string, ServicePortState | undefined>): Promise<SyncStats> {
    if (!this.initialized) throw new Error('nftables proxier: full sync needed first');
    const script = this.planPartial(changes);
    if (!script) return { chainsWritten: 0, elementsChanged: 0, scriptBytes: 0 };
    try {
      const bytes = await this.apply(script.lines);
      return { chainsWritten: script.chainsWritten, elementsChanged: script.elementsChanged, scriptBytes: bytes };
    } catch (err) {
      // Unknown kernel state: the next sync must be a full one.
      this.initialized = false;
      throw err;
    }
  }

  /** The transaction for a partial sync; updates the model as if it succeeded. */
  private planPartial(changes: ReadonlyMap<string, ServicePortState | undefined>): { lines: string[]; chainsWritten: number; elementsChanged: number } | undefined {
    const t = this.prefix;
    const txn: Txn = { addChains: [], flushChains: [], rules: [] };
    const touched = new Set<string>();
    /** Chains to look at: name → rules wanted (undefined: unused), and whether to rewrite regardless. */
    const candidates = new Map<string, { want: readonly string[] | undefined }>();
    const sharedSeen = new Set<string>();
    for (const [id, state] of changes) {
      const before = this.programmed.get(id);
      const after = state ? renderServicePort(state, this.renderOpts) : undefined;
      if (before) this.addShared(before, -1);
      if (after) this.addShared(after, 1);
      for (const s of before?.shared ?? []) sharedSeen.add(s);
      for (const s of after?.shared ?? []) sharedSeen.add(s);
      // An endpoint gone (or its timeout changed) frees its affinity id: should it come
      // back, it gets a new one, and its old clients are balanced afresh.
      for (const k of before?.affinity.keys() ?? []) if (!after?.affinity.has(k)) this.affinityIds.delete(k);
      for (const c of before?.chains.keys() ?? []) if (!after?.chains.has(c)) candidates.set(c, { want: undefined });
      for (const [c, rules] of after?.chains ?? []) candidates.set(c, { want: rules });
      this.setClaims(id, state?.svc.rank ?? '', before?.elements ?? [], after?.elements ?? [], touched);
      if (after) {
        this.programmed.set(id, after);
        this.states.set(id, state!);
      } else {
        this.programmed.delete(id);
        this.states.delete(id);
      }
    }
    for (const s of sharedSeen) candidates.set(s, { want: this.wantedRules(s) });

    let chainsWritten = 0;
    const nowMs = this.now();
    for (const [c, { want }] of candidates) {
      const have = this.kernelChains.get(c);
      const stale = this.staleChains.has(c);
      if (want) {
        if (have && !stale && sameRules(have, want)) continue;
        if (!have) txn.addChains.push(`add chain ${t} ${c}`);
        else txn.flushChains.push(`flush chain ${t} ${c}`);
        this.staleChains.delete(c);
        this.chainRules(txn.rules, c, want);
        this.kernelChains.set(c, want);
        chainsWritten++;
      } else if (have && !stale) {
        txn.flushChains.push(`flush chain ${t} ${c}`);
        this.kernelChains.set(c, []);
        this.staleChains.set(c, nowMs);
      }
    }
    const { del, add, n } = this.elementChanges(touched);
    const lines = [...txn.addChains, ...txn.flushChains, ...txn.rules];
    this.writeElements(lines, 'delete', del);
    this.writeElements(lines, 'add', add);
    for (const c of this.expiredStaleChains()) lines.push(`delete chain ${t} ${c}`);
    if (lines.length === 0) return undefined;
    return { lines, chainsWritten, elementsChanged: n };
  }

  /** Chains waiting to be deleted (for a timer to sync again once they are due). */
  get pendingStaleChains(): number {
    return this.staleChains.size;
  }

  /** Delete chains whose grace period is over (nothing else). */
  async deleteStaleChains(): Promise<void> {
    if (!this.initialized) return;
    const due = this.expiredStaleChains();
    if (due.length === 0) return;
    await this.apply(due.map((c) => `delete chain ${this.prefix} ${c}`));
  }

  /** Remove the table. */
  async cleanup(): Promise<void> {
    await this.apply([`add table ${this.prefix}`, `delete table ${this.prefix}`]);
    this.initialized = false;
    this.resetModel();
  }
}

/** Deep equality of plain data (states: objects, arrays, strings, numbers, booleans). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
