// NetworkPolicy semantics (networking.k8s.io/v1) compiled to nftables rules, as a pure
// function of the policies, pods and namespaces:
//
// - A pod selected by any policy with policyType Ingress is isolated for ingress: only
//   traffic some rule of some such policy allows reaches it (replies to its own
//   connections always do). The same for Egress and traffic it sends.
// - A rule allows traffic from/to its peers (podSelector in the policy's namespace,
//   namespaceSelector, both, or ipBlock minus except; no peers: everyone) on its
//   ports (numbers, ranges with endPort, or named container ports resolved per pod;
//   no ports: every port and protocol).
// - policyTypes unset: Ingress, plus Egress when the policy has egress rules.
//
// The rules go into an `inet` table's forward chain: with br_netfilter, traffic between
// pods on the node's bridge passes it too, after Service DNAT (policies see pod
// addresses). Traffic between a pod and its own node (kubelet probes, the cluster
// DNS server that listens on the node) is not filtered.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'kubernetes-types/networking/v1.js';
import { labelSelectorMatches } from '../machinery/labels.js';

/** Does a LabelSelector select these labels? (An empty selector selects everything.) */
export function selects(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  return !sel || labelSelectorMatches(sel, labels);
}

interface PodInfo {
  ip: string;
  namespace: string;
  labels: Record<string, string>;
  pod: Pod;
}

function podInfos(pods: readonly Pod[]): PodInfo[] {
  const out: PodInfo[] = [];
  for (const p of pods) {
    if (p.spec?.hostNetwork) continue;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ip = p.status?.podIP;
    if (!ip || !ip.includes('.')) continue;
    out.push({ ip, namespace: p.metadata?.namespace ?? 'default', labels: p.metadata?.labels ?? {}, pod: p });
  }
  return out;
}

export function policyTypes(np: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = np.spec?.policyTypes;
  if (types && types.length) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (np.spec?.egress?.length ?? 0) > 0 };
}

/** A port of a pod's containers by name and protocol. */
function namedPort(pod: Pod, name: string, protocol: string): number | undefined {
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

type PeerMatch = { kind: 'any' } | { kind: 'ips'; ips: string[] } | { kind: 'block'; cidr: string; except: string[] };

function peerMatches(peers: readonly NetworkPolicyPeer[] | undefined, np: NetworkPolicy, pods: readonly PodInfo[], nsLabels: Map<string, Record<string, string>>): { matches: PeerMatch[]; podPeers: PodInfo[] } {
  if (!peers || peers.length === 0) return { matches: [{ kind: 'any' }], podPeers: pods.slice() };
  const matches: PeerMatch[] = [];
  const podPeers = new Map<string, PodInfo>();
  const ns = np.metadata?.namespace ?? 'default';
  for (const peer of peers) {
    if (peer.ipBlock) {
      if (peer.ipBlock.cidr.includes('.')) matches.push({ kind: 'block', cidr: peer.ipBlock.cidr, except: (peer.ipBlock.except ?? []).filter((e) => e.includes('.')) });
      continue;
    }
    if (!peer.podSelector && !peer.namespaceSelector) continue;
    const hits = pods.filter((p) => {
      const nsOk = peer.namespaceSelector ? nsLabels.has(p.namespace) && selects(peer.namespaceSelector, nsLabels.get(p.namespace)) : p.namespace === ns;
      return nsOk && selects(peer.podSelector, p.labels);
    });
    for (const h of hits) podPeers.set(h.ip, h);
  }
  if (podPeers.size) matches.push({ kind: 'ips', ips: [...podPeers.keys()] });
  return { matches, podPeers: [...podPeers.values()] };
}

function peerExpr(m: PeerMatch, field: 'saddr' | 'daddr'): string {
  if (m.kind === 'any') return '';
  if (m.kind === 'ips') return `ip ${field} { ${m.ips.join(', ')} } `;
  return `ip ${field} ${m.cidr} ${m.except.length ? `ip ${field} != { ${m.except.join(', ')} } ` : ''}`;
}

/**
 * Port conditions for one rule: `'' ` (no ports: anything), or expressions over the
 * destination port. `localIPs` / `destPods`: the pods named ports are resolved on
 * (the selected pod for ingress, the peer pod for egress) with their IPs.
 */
function portExprs(ports: readonly NetworkPolicyPort[] | undefined, resolveOn: readonly PodInfo[]): { plain: string[]; named: string[] } {
  if (!ports || ports.length === 0) return { plain: [''], named: [] };
  const plain: string[] = [];
  const concat: string[] = [];
  const protoOnly = new Set<string>();
  const pairs: string[] = [];
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined || p.port === null) {
      protoOnly.add(proto);
      continue;
    }
    if (typeof p.port === 'number' || /^\d+$/.test(String(p.port))) {
      const n = Number(p.port);
      pairs.push(p.endPort && p.endPort > n ? `${proto} . ${n}-${p.endPort}` : `${proto} . ${n}`);
      continue;
    }
    for (const pod of resolveOn) {
      const num = namedPort(pod.pod, String(p.port), p.protocol ?? 'TCP');
      if (num !== undefined) concat.push(`${pod.ip} . ${proto} . ${num}`);
    }
  }
  for (const proto of protoOnly) plain.push(`meta l4proto ${proto} `);
  if (pairs.length) plain.push(`meta l4proto . th dport { ${pairs.join(', ')} } `);
  return { plain, named: concat };
}

export interface CompiledPolicies {
  ingressIsolated: string[];
  egressIsolated: string[];
  /** Rules of the ingress-check chain (each ends in `return` = allowed). */
  ingressRules: string[];
  egressRules: string[];
}

export function compilePolicies(policies: readonly NetworkPolicy[], allPods: readonly Pod[], namespaces: readonly Namespace[]): CompiledPolicies {
  const pods = podInfos(allPods);
  const nsLabels = new Map(namespaces.map((n) => [n.metadata!.name!, { ...(n.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': n.metadata!.name! }]));
  const ingressIso = new Set<string>();
  const egressIso = new Set<string>();
  const ingressRules: string[] = [];
  const egressRules: string[] = [];
  const sorted = [...policies].sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  for (const np of sorted) {
    const ns = np.metadata?.namespace ?? 'default';
    const selected = pods.filter((p) => p.namespace === ns && selects(np.spec?.podSelector ?? {}, p.labels));
    if (selected.length === 0) continue;
    const sel = selected.map((p) => p.ip);
    const selExprD = `ip daddr { ${sel.join(', ')} } `;
    const selExprS = `ip saddr { ${sel.join(', ')} } `;
    const types = policyTypes(np);
    const tag = `comment "${ns}/${np.metadata?.name}"`;
    if (types.ingress) {
      for (const ip of sel) ingressIso.add(ip);
      for (const rule of np.spec?.ingress ?? []) {
        const { matches } = peerMatches(rule.from, np, pods, nsLabels);
        const { plain, named } = portExprs(rule.ports, selected);
        for (const m of matches) {
          for (const pe of plain) ingressRules.push(`${selExprD}${pe}${peerExpr(m, 'saddr')}return ${tag}`.replace(/\s+/g, ' '));
          if (named.length) ingressRules.push(`ip daddr . meta l4proto . th dport { ${named.join(', ')} } ${peerExpr(m, 'saddr')}return ${tag}`.replace(/\s+/g, ' '));
        }
      }
    }
    if (types.egress) {
      for (const ip of sel) egressIso.add(ip);
      for (const rule of np.spec?.egress ?? []) {
        const { matches, podPeers } = peerMatches(rule.to, np, pods, nsLabels);
        const { plain, named } = portExprs(rule.ports, podPeers);
        for (const m of matches) {
          for (const pe of plain) egressRules.push(`${selExprS}${pe}${peerExpr(m, 'daddr')}return ${tag}`.replace(/\s+/g, ' '));
          // Named ports resolve on pod peers only (an ipBlock has no container ports).
          if (named.length && m.kind !== 'block') egressRules.push(`${selExprS}ip daddr . meta l4proto . th dport { ${named.join(', ')} } return ${tag}`.replace(/\s+/g, ' '));
        }
      }
    }
  }
  return { ingressIsolated: [...ingressIso], egressIsolated: [...egressIso], ingressRules, egressRules };
}

/** The whole table as one nft transaction (replacing what was there). */
export function renderTable(table: string, c: CompiledPolicies): string {
  const t = `inet ${table}`;
  const lines = [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "kite NetworkPolicy"; }`,
    `add chain ${t} forward { type filter hook forward priority 0; policy accept; }`,
    `add chain ${t} ingress-check`,
    `add chain ${t} egress-check`,
    `add rule ${t} forward ct state established,related accept`,
  ];
  if (c.egressIsolated.length) lines.push(`add rule ${t} forward ip saddr { ${c.egressIsolated.join(', ')} } jump egress-check`);
  if (c.ingressIsolated.length) lines.push(`add rule ${t} forward ip daddr { ${c.ingressIsolated.join(', ')} } jump ingress-check`);
  for (const r of c.egressRules) lines.push(`add rule ${t} egress-check ${r}`);
  lines.push(`add rule ${t} egress-check counter drop comment "egress not allowed"`);
  for (const r of c.ingressRules) lines.push(`add rule ${t} ingress-check ${r}`);
  lines.push(`add rule ${t} ingress-check counter drop comment "ingress not allowed"`);
  return lines.join('\n') + '\n';
}
