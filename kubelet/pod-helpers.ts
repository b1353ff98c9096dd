// Per-pod host-side helpers: DNS configuration by dnsPolicy (upstream
// kubelet/network/dns), the kubelet-managed /etc/hosts, and pod cgroups.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod, PodSpec } from 'kubernetes-types/core/v1.js';

export interface DnsSettings {
  clusterDNS: string[];
  clusterDomain: string;
  /** resolv.conf the Default policy copies (default /etc/resolv.conf) */
  resolvConf?: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest.filter((s) => s !== '.');
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function hostDns(settings: DnsSettings): DnsConfig {
  try {
    return parseResolvConf(readFileSync(settings.resolvConf ?? '/etc/resolv.conf', 'utf8'));
  } catch {
    return { servers: [], searches: [], options: [] };
  }
}

function mergeOptions(base: string[], extra: Array<{ name?: string; value?: string }>): string[] {
  const byName = new Map<string, string>();
  for (const o of base) {
    const [name, value] = o.split(':');
    byName.set(name!, o.includes(':') ? `${name}:${value}` : name!);
  }
  for (const o of extra) {
    if (!o.name) continue;
    byName.set(o.name, o.value !== undefined && o.value !== '' ? `${o.name}:${o.value}` : o.name);
  }
  return [...byName.values()];
}

/** The resolv.conf contents a pod gets (upstream GetPodDNS). `warn` is told when ClusterFirst has no cluster DNS. */
export function podDnsConfig(pod: Pod, settings: DnsSettings, warn?: (msg: string) => void): DnsConfig {
  const spec: Partial<PodSpec> = pod.spec ?? {};
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  else if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirst' && settings.clusterDNS.length === 0) {
    warn?.(`kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`);
    policy = 'Default';
  }
  let cfg: DnsConfig;
  switch (policy) {
    case 'None':
      cfg = { servers: [], searches: [], options: [] };
      break;
    case 'Default':
      cfg = hostDns(settings);
      break;
    default: {
      const host = hostDns(settings);
      const ns = pod.metadata?.namespace ?? 'default';
      const d = settings.clusterDomain;
      cfg = {
        servers: [...settings.clusterDNS],
        searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches],
        options: ['ndots:5'],
      };
    }
  }
  const extra = spec.dnsConfig;
  if (extra) {
    for (const s of extra.nameservers ?? []) if (!cfg.servers.includes(s)) cfg.servers.push(s);
    for (const s of extra.searches ?? []) if (!cfg.searches.includes(s)) cfg.searches.push(s);
    cfg.options = mergeOptions(cfg.options, extra.options ?? []);
  }
  cfg.servers = cfg.servers.slice(0, MAX_NAMESERVERS);
  cfg.searches = [...new Set(cfg.searches)].slice(0, MAX_SEARCHES);
  return cfg;
}

/** The pod's hostname and domain (upstream GeneratePodHostNameAndDomain). */
export function podHostnameAndDomain(pod: Pod, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = pod.spec?.hostname || pod.metadata?.name || '';
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  const domain = sub ? `${sub}.${pod.metadata?.namespace}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

/** The kubelet-managed /etc/hosts for a pod on the pod network. */
export function managedHostsFile(pod: Pod, podIPs: string[], clusterDomain: string): string {
  const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
  let out = '# Kubernetes-managed hosts file.\n';
  out += '127.0.0.1\tlocalhost\n';
  out += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  out += 'fe00::0\tip6-localnet\n';
  out += 'fe00::0\tip6-mcastprefix\n';
  out += 'fe00::1\tip6-allnodes\n';
  out += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) {
    out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  }
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}

/** The host's /etc/hosts with the host-network header (pods with hostNetwork). */
export function hostNetworkHostsFile(pod: Pod): string {
  let base: string;
  try {
    base = readFileSync('/etc/hosts', 'utf8');
  } catch {
    base = '127.0.0.1\tlocalhost\n';
  }
  let out = `# Kubernetes-managed hosts file (host network).\n${base}`;
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}

// ---------------------------------------------------------------- cgroups

/** Every cgroup hierarchy root on this host (v2: one; v1: one per controller mount). */
export function cgroupRoots(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  try {
    return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join('/sys/fs/cgroup', e.name));
  } catch {
    return [];
  }
}

/** Removes a cgroup (and empty children) in every hierarchy; containers must be gone. */
export function removeCgroup(path: string): void {
  const rel = path.replace(/^\/+/, '');
  if (!rel) return;
  for (const root of cgroupRoots()) {
    const dir = join(root, rel);
    if (!existsSync(dir)) continue;
    const walk = (d: string) => {
      try {
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
        rmdirSync(d);
      } catch {
        // busy or already gone
      }
    };
    walk(dir);
  }
}
