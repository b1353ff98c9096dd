// The proxy's fallback for hosts without `nft`: the same rules as iptables chains
// (upstream: pkg/proxy/iptables/proxier.go), written with one iptables-restore per
// sync. Simpler than the nftables backend: every sync is a full one (iptables-restore
// replaces our chains atomically per table), and there are no maps — dispatch is a
// list of rules in KITE-SERVICES.
//
//   nat    PREROUTING, OUTPUT → KITE-SERVICES → KITE-SVC-* (ClusterIP), KITE-EXT-*
//          (external IPs, LB IPs), KITE-NODEPORTS (addrtype LOCAL) → KITE-EXT-*
//          KITE-SVC-*/KITE-SVL-* → statistic random → KITE-SEP-* (DNAT)
//          POSTROUTING → KITE-POSTROUTING (masquerade marked packets)
//   filter INPUT, FORWARD, OUTPUT (ct state NEW) → KITE-SERVICES (REJECT/DROP without
//          endpoints), KITE-EXTERNAL (NodePorts without endpoints), KITE-FIREWALL
//          (loadBalancerSourceRanges)
import { createHash } from 'node:crypto';
import type { EndpointInfo, ServicePort, ServicePortState } from './model.js';
import { categorize } from './model.js';
import type { CommandRunner } from './exec.js';
import { mustRun } from './exec.js';
import type { RenderOptions, ScopeOptions, SyncStats } from './nftables.js';

const MARK = '0x4000/0x4000';

function h(name: string): string {
  return createHash('sha256').update(name).digest('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16).toUpperCase();
}

interface Tables {
  nat: { chains: Set<string>; rules: string[] };
  filter: { chains: Set<string>; rules: string[] };
}

const NAT_FIXED = ['KITE-PREROUTING', 'KITE-SERVICES', 'KITE-NODEPORTS', 'KITE-POSTROUTING', 'KITE-MARK-MASQ'];
const FILTER_FIXED = ['KITE-FORWARD', 'KITE-SERVICES', 'KITE-EXTERNAL', 'KITE-FIREWALL'];
const JUMPS: [table: string, chain: string, args: string[]][] = [
  ['nat', 'PREROUTING', ['-m', 'comment', '--comment', 'kite service portals', '-j', 'KITE-PREROUTING']],
  ['nat', 'OUTPUT', ['-m', 'comment', '--comment', 'kite service portals', '-j', 'KITE-SERVICES']],
  ['nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'kite postrouting', '-j', 'KITE-POSTROUTING']],
  ['filter', 'INPUT', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite services', '-j', 'KITE-SERVICES']],
  ['filter', 'FORWARD', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite services', '-j', 'KITE-FORWARD']],
  ['filter', 'OUTPUT', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite services', '-j', 'KITE-SERVICES']],
  ['filter', 'INPUT', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite nodeports', '-j', 'KITE-EXTERNAL']],
  ['filter', 'INPUT', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite firewall', '-j', 'KITE-FIREWALL']],
  ['filter', 'FORWARD', ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kite firewall', '-j', 'KITE-FIREWALL']],
];

export interface IptablesOptions extends RenderOptions, ScopeOptions {
  run: CommandRunner;
  localhostNodePorts?: boolean;
}

/** Rules for one ServicePort, appended to `t`. */
function renderPort(state: ServicePortState, opts: RenderOptions, t: Tables, taken: Set<string>): void {
  const sp: ServicePort = state.svc;
  if (!sp.clusterIP) return;
  const base = h(`${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}`);
  const svcChain = `KITE-SVC-${base}`;
  const localChain = `KITE-SVL-${base}`;
  const extChain = `KITE-EXT-${base}`;
  const fwChain = `KITE-FW-${base}`;
  const p = sp.protocol;
  const { cluster, local, hasAny } = categorize(state.endpoints);
  const internalChain = sp.internalPolicyLocal ? localChain : svcChain;
  const hasInternal = sp.internalPolicyLocal ? local.length > 0 : hasAny;
  const hasExternal = sp.externalPolicyLocal ? local.length > 0 : hasAny;
  const usesLocal = local.length > 0 && (sp.internalPolicyLocal || sp.externalPolicyLocal);
  const usesExternal = hasAny && (!!sp.nodePort || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0);
  const comment = `-m comment --comment "${sp.id}"`;
  const nat = t.nat;
  const filter = t.filter;
  const claim = (k: string) => {
    if (taken.has(k)) return false;
    taken.add(k);
    return true;
  };
  const reject = hasAny ? '-j DROP' : p === 'tcp' ? '-j REJECT --reject-with tcp-reset' : '-j REJECT';

  if (claim(`${sp.clusterIP}:${p}:${sp.port}`)) {
    if (hasInternal) nat.rules.push(`-A KITE-SERVICES -d ${sp.clusterIP}/32 -p ${p} --dport ${sp.port} ${comment} -j ${internalChain}`);
    else filter.rules.push(`-A KITE-SERVICES -d ${sp.clusterIP}/32 -p ${p} --dport ${sp.port} ${comment} ${reject}`);
  }
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
    if (!claim(`${ip}:${p}:${sp.port}`)) continue;
    if (usesExternal) nat.rules.push(`-A KITE-SERVICES -d ${ip}/32 -p ${p} --dport ${sp.port} ${comment} -j ${extChain}`);
    if (!hasExternal) filter.rules.push(`-A KITE-SERVICES -d ${ip}/32 -p ${p} --dport ${sp.port} ${comment} ${reject}`);
    if (sp.loadBalancerIPs.includes(ip) && sp.loadBalancerSourceRanges.length > 0) {
      filter.chains.add(fwChain);
      filter.rules.push(`-A KITE-FIREWALL -d ${ip}/32 -p ${p} --dport ${sp.port} ${comment} -j ${fwChain}`);
      for (const src of [...sp.loadBalancerSourceRanges, ...sp.loadBalancerIPs]) filter.rules.push(`-A ${fwChain} -s ${src} -j RETURN`);
      filter.rules.push(`-A ${fwChain} -j DROP`);
    }
  }
  if (sp.nodePort && claim(`np:${p}:${sp.nodePort}`)) {
    if (usesExternal) nat.rules.push(`-A KITE-NODEPORTS -p ${p} --dport ${sp.nodePort} ${comment} -j ${extChain}`);
    if (!hasExternal) filter.rules.push(`-A KITE-EXTERNAL -m addrtype --dst-type LOCAL -p ${p} --dport ${sp.nodePort} ${comment} ${reject}`);
  }

  const epChain = (e: EndpointInfo) => `KITE-SEP-${h(`${sp.namespace}/${sp.name}/${p}/${sp.portName}__${e.ip}/${e.port}`)}`;
  const masq = opts.masqueradeAll ? '' : opts.clusterCIDR ? `! -s ${opts.clusterCIDR} ` : undefined;
  const balance = (chain: string, eps: EndpointInfo[], withMasq: boolean) => {
    nat.chains.add(chain);
    if (withMasq && masq !== undefined) nat.rules.push(`-A ${chain} ${masq}-d ${sp.clusterIP}/32 -p ${p} --dport ${sp.port} -j KITE-MARK-MASQ`);
    if (sp.affinitySeconds > 0) {
      for (const e of eps) nat.rules.push(`-A ${chain} -m recent --name ${epChain(e)} --mask 255.255.255.255 --rsource --rcheck --seconds ${sp.affinitySeconds} --reap -j ${epChain(e)}`);
    }
    eps.forEach((e, i) => {
      const left = eps.length - i;
      const stat = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
      nat.rules.push(`-A ${chain} ${stat}-j ${epChain(e)}`);
    });
  };
  if (cluster.length > 0) balance(svcChain, cluster, internalChain === svcChain && hasInternal);
  if (usesLocal) balance(localChain, local, internalChain === localChain && hasInternal);
  if (usesExternal) {
    nat.chains.add(extChain);
    if (!sp.externalPolicyLocal) nat.rules.push(`-A ${extChain} -j KITE-MARK-MASQ`);
    else {
      if (opts.clusterCIDR) nat.rules.push(`-A ${extChain} -s ${opts.clusterCIDR} -j ${svcChain}`);
      nat.rules.push(`-A ${extChain} -m addrtype --src-type LOCAL -j KITE-MARK-MASQ`);
      nat.rules.push(`-A ${extChain} -m addrtype --src-type LOCAL -j ${svcChain}`);
    }
    if (hasExternal) nat.rules.push(`-A ${extChain} -j ${sp.externalPolicyLocal ? localChain : svcChain}`);
  }
  const reachable = new Map<string, EndpointInfo>();
  for (const e of cluster) reachable.set(`${e.ip}:${e.port}`, e);
  if (usesLocal) for (const e of local) reachable.set(`${e.ip}:${e.port}`, e);
  for (const e of reachable.values()) {
    const c = epChain(e);
    nat.chains.add(c);
    nat.rules.push(`-A ${c} -s ${e.ip}/32 -j KITE-MARK-MASQ`);
    const recent = sp.affinitySeconds > 0 ? `-m recent --name ${c} --mask 255.255.255.255 --rsource --set ` : '';
    nat.rules.push(`-A ${c} -p ${p} ${recent}-j DNAT --to-destination ${e.ip}:${e.port}`);
  }
}

export class IptablesProxier {
  private states = new Map<string, ServicePortState>();
  private previous: Tables | undefined;
  private jumpsInstalled = false;

  constructor(private readonly opts: IptablesOptions) {}

  private async ensureJumps(): Promise<void> {
    if (this.jumpsInstalled) return;
    // Our chains must exist before anything can jump to them.
    await mustRun(this.opts.run, ['iptables-restore', '--noflush'], `*nat\n${NAT_FIXED.map((c) => `:${c} - [0:0]`).join('\n')}\nCOMMIT\n*filter\n${FILTER_FIXED.map((c) => `:${c} - [0:0]`).join('\n')}\nCOMMIT\n`);
    for (const [table, chain, args] of JUMPS) {
      const check = await this.opts.run(['iptables', '-w', '-t', table, '-C', chain, ...args]);
      if (check.code !== 0) await mustRun(this.opts.run, ['iptables', '-w', '-t', table, '-I', chain, '1', ...args]);
    }
    this.jumpsInstalled = true;
  }

  async fullSync(states: readonly ServicePortState[]): Promise<SyncStats> {
    this.states = new Map(states.map((s) => [s.svc.id, s]));
    return this.write();
  }

  async partialSync(changes: ReadonlyMap<string, ServicePortState | undefined>): Promise<SyncStats> {
    for (const [id, s] of changes) {
      if (s) this.states.set(id, s);
      else this.states.delete(id);
    }
    return this.write();
  }

  private async write(): Promise<SyncStats> {
    await this.ensureJumps();
    const t: Tables = { nat: { chains: new Set(NAT_FIXED), rules: [] }, filter: { chains: new Set(FILTER_FIXED), rules: [] } };
    t.nat.rules.push(
      `-A KITE-MARK-MASQ -j MARK --or-mark ${MARK.split('/')[0]}`,
      `-A KITE-POSTROUTING -m mark ! --mark ${MARK} -j RETURN`,
      `-A KITE-POSTROUTING -j MARK --xor-mark ${MARK.split('/')[0]}`,
      `-A KITE-POSTROUTING -j MASQUERADE --random-fully`,
    );
    // Oldest Service first: it wins addresses two Services claim.
    const ordered = [...this.states.values()].sort((a, b) => (a.svc.rank < b.svc.rank ? -1 : a.svc.rank > b.svc.rank ? 1 : 0));
    const taken = new Set<string>();
    for (const s of ordered) renderPort(s, this.opts, t, taken);
    // ClusterIP traffic only from our pods (see ScopeOptions), then the dispatch.
    if (this.opts.serviceCIDR && this.opts.podInterfaces?.length) {
      for (const i of this.opts.podInterfaces) t.nat.rules.push(`-A KITE-PREROUTING -i ${i} -j KITE-SERVICES`);
      t.nat.rules.push(`-A KITE-PREROUTING -d ${this.opts.serviceCIDR} -j RETURN`);
      for (const i of this.opts.podInterfaces) t.filter.rules.push(`-A KITE-FORWARD -i ${i} -j KITE-SERVICES`);
      t.filter.rules.push(`-A KITE-FORWARD -d ${this.opts.serviceCIDR} -j RETURN`);
    }
    t.nat.rules.push('-A KITE-PREROUTING -j KITE-SERVICES');
    t.filter.rules.push('-A KITE-FORWARD -j KITE-SERVICES');
    const localOnly = this.opts.localhostNodePorts === false ? ' ! -d 127.0.0.0/8' : '';
    t.nat.rules.push(`-A KITE-SERVICES -m addrtype --dst-type LOCAL${localOnly} -j KITE-NODEPORTS`);
    const lines: string[] = [];
    let chains = 0;
    for (const table of ['nat', 'filter'] as const) {
      lines.push(`*${table}`);
      for (const c of t[table].chains) lines.push(`:${c} - [0:0]`);
      // Chains that are gone: flushed (declared) then deleted.
      for (const c of this.previous?.[table].chains ?? []) if (!t[table].chains.has(c)) lines.push(`:${c} - [0:0]`);
      lines.push(...t[table].rules);
      for (const c of this.previous?.[table].chains ?? []) if (!t[table].chains.has(c)) lines.push(`-X ${c}`);
      lines.push('COMMIT');
      chains += t[table].chains.size;
    }
    const text = lines.join('\n') + '\n';
    await mustRun(this.opts.run, ['iptables-restore', '--noflush', '-w'], text);
    this.previous = t;
    return { chainsWritten: chains, elementsChanged: 0, scriptBytes: text.length };
  }

  async cleanup(): Promise<void> {
    for (const [table, chain, args] of JUMPS) {
      for (;;) {
        const r = await this.opts.run(['iptables', '-w', '-t', table, '-D', chain, ...args]);
        if (r.code !== 0) break;
      }
    }
    // Every KITE- chain in both tables: flush all, then delete all.
    for (const table of ['nat', 'filter']) {
      const saved = await this.opts.run(['iptables-save', '-t', table]);
      const ours = [...saved.stdout.matchAll(/^:(KITE-[^\s]+)/gm)].map((m) => m[1]);
      if (ours.length === 0) continue;
      const text = `*${table}\n${ours.map((c) => `:${c} - [0:0]`).join('\n')}\n${ours.map((c) => `-X ${c}`).join('\n')}\nCOMMIT\n`;
      await mustRun(this.opts.run, ['iptables-restore', '--noflush', '-w'], text);
    }
    this.previous = undefined;
    this.jumpsInstalled = false;
  }
}
