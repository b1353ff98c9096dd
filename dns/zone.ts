// The cluster zone (the records of the Kubernetes DNS-based service discovery
// specification, kubernetes/dns docs/specification.md), answered from informer caches:
//
//   <svc>.<ns>.svc.<zone>                A   ClusterIP, or every ready endpoint (headless;
//                                            NXDOMAIN when a headless Service has none)
//                                        CNAME  <externalName> (ExternalName Services)
//   <host>.<svc>.<ns>.svc.<zone>         A   endpoint with that hostname (headless); an
//                                            endpoint without one is `a-b-c-d`
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV  named ports (→ the Service name, or each
//                                            endpoint's name for headless Services)
//   <a-b-c-d>.<ns>.pod.<zone>            A   a pod with that IP in that namespace
//   <d>.<c>.<b>.<a>.in-addr.arpa         PTR ClusterIPs and headless endpoints
//   dns-version.<zone>                   TXT the schema version
//
// A name that exists with no record of the asked type is NODATA (NOERROR, SOA in the
// authority section); a name that does not exist is NXDOMAIN. Comparisons are
// case-insensitive. Names outside the zone (and reverse names it does not know) are
// not answered here: the server forwards them.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Answer, RecordType } from 'dns-packet';
import { CLUSTER_DOMAIN, DNS_SCHEMA_VERSION } from './config.js';

/** What the zone reads: the caches of Services, EndpointSlices and Pods. */
export interface ClusterView {
  service(namespace: string, name: string): Service | undefined;
  /** The Service's EndpointSlices (by the kubernetes.io/service-name label). */
  slices(namespace: string, name: string): EndpointSlice[];
  servicesByClusterIP(ip: string): Service[];
  /** Slices listing this address. */
  slicesByAddress(ip: string): EndpointSlice[];
  podsByIP(ip: string): Pod[];
  /** Whether anything (a Service or a pod) lives in the namespace. */
  namespaceExists(namespace: string): boolean;
}

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** For an ExternalName outside the zone: the target the server should resolve and append. */
  chase?: string;
}

export interface ZoneOptions {
  domain?: string;
  /** TTL of the answers (default 5 s). */
  ttl?: number;
  /**
   * Pod records: `verified` (default) answers only for a pod that has that IP in that
   * namespace, `insecure` for any well-formed address (kube-dns's old behaviour),
   * `disabled` never.
   */
  pods?: 'verified' | 'insecure' | 'disabled';
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function dashed(ip: string): string {
  return ip.replace(/\./g, '-');
}

function readyAddresses(svc: Service, slices: readonly EndpointSlice[]): { ip: string; hostname: string; ports: { name: string; port: number; protocol: string }[] }[] {
  const tolerate = svc.metadata?.annotations?.['service.alpha.kubernetes.io/tolerate-unready-endpoints'] === 'true';
  const out = new Map<string, { ip: string; hostname: string; ports: { name: string; port: number; protocol: string }[] }>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4') continue;
    const ports = (s.ports ?? []).filter((p) => p.port).map((p) => ({ name: p.name ?? '', port: p.port!, protocol: p.protocol ?? 'TCP' }));
    for (const ep of s.endpoints ?? []) {
      if (!tolerate && ep.conditions?.ready === false) continue;
      for (const ip of ep.addresses ?? []) {
        const prev = out.get(ip);
        if (prev) {
          for (const p of ports) if (!prev.ports.some((q) => q.name === p.name && q.protocol === p.protocol)) prev.ports.push(p);
        } else {
          out.set(ip, { ip, hostname: ep.hostname ?? dashed(ip), ports: [...ports] });
        }
      }
    }
  }
  return [...out.values()];
}

function isHeadless(svc: Service): boolean {
  return !svc.spec?.clusterIP || svc.spec.clusterIP === 'None';
}

export class ClusterZone {
  readonly domain: string;
  private readonly ttl: number;
  private readonly pods: 'verified' | 'insecure' | 'disabled';

  constructor(
    private readonly view: ClusterView,
    opts: ZoneOptions = {},
  ) {
    this.domain = (opts.domain ?? CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, '');
    this.ttl = opts.ttl ?? 5;
    this.pods = opts.pods ?? 'verified';
  }

  private soa(): Answer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      data: { mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: Math.floor(Date.now() / 1000) % 2 ** 31, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  private nodata(): ZoneAnswer {
    return { rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nx(): ZoneAnswer {
    return { rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private ok(answers: Answer[], additionals: Answer[] = []): ZoneAnswer {
    return answers.length ? { rcode: 'NOERROR', answers, authorities: [], additionals } : this.nodata();
  }

  private a(name: string, ip: string): Answer {
    return { type: 'A', name, ttl: this.ttl, data: ip };
  }

  /** Whether `name` (lower case, no trailing dot) is in this server's authority. */
  inZone(name: string): boolean {
    return name === this.domain || name.endsWith(`.${this.domain}`);
  }

  /** The answer for a question, or undefined when it is not ours to answer (forward it). */
  answer(qname: string, qtype: RecordType | string): ZoneAnswer | undefined {
    const name = qname.toLowerCase().replace(/\.$/, '');
    if (name.endsWith('.in-addr.arpa')) return this.reverse(name, qname, qtype);
    if (!this.inZone(name)) return undefined;
    const rel = name === this.domain ? [] : name.slice(0, -(this.domain.length + 1)).split('.');
    const n = rel.length;

    if (n === 0) {
      if (qtype === 'SOA' || qtype === 'ANY') return this.ok([this.soa()]);
      if (qtype === 'NS') return this.ok([{ type: 'NS', name: this.domain, ttl: this.ttl, data: `ns.dns.${this.domain}` }]);
      return this.nodata();
    }
    if (n === 1 && rel[0] === 'dns-version') {
      return qtype === 'TXT' || qtype === 'ANY' ? this.ok([{ type: 'TXT', name: qname, ttl: this.ttl, data: [DNS_SCHEMA_VERSION] }]) : this.nodata();
    }
    const kind = rel[n - 1];
    if (kind !== 'svc' && kind !== 'pod') return this.nx();
    if (n === 1) return this.nodata();
    const ns = rel[n - 2];
    if (n === 2) return this.view.namespaceExists(ns) ? this.nodata() : this.nx();

    if (kind === 'pod') {
      if (n !== 3 || this.pods === 'disabled') return this.nx();
      const ip = rel[0].replace(/-/g, '.');
      if (!IPV4.test(ip)) return this.nx();
      if (this.pods === 'verified' && !this.view.podsByIP(ip).some((p) => p.metadata?.namespace === ns && !p.metadata?.deletionTimestamp)) return this.nx();
      return qtype === 'A' || qtype === 'ANY' ? this.ok([this.a(qname, ip)]) : this.nodata();
    }

    // <svc>.<ns>.svc
    if (n === 3) return this.serviceRecords(qname, rel[0], ns, qtype);
    // _<port>._<proto>.<svc>.<ns>.svc
    if (n === 5 && rel[0].startsWith('_') && rel[1].startsWith('_')) return this.srvRecords(qname, rel[0].slice(1), rel[1].slice(1), rel[2], ns, qtype);
    // <hostname>.<svc>.<ns>.svc
    if (n === 4) return this.endpointRecords(qname, rel[0], rel[1], ns, qtype);
    return this.nx();
  }

  private serviceName(svc: string, ns: string): string {
    return `${svc}.${ns}.svc.${this.domain}`;
  }

  private serviceRecords(qname: string, name: string, ns: string, qtype: string): ZoneAnswer {
    const svc = this.view.service(ns, name);
    if (!svc) return this.nx();
    if (svc.spec?.type === 'ExternalName') {
      const target = (svc.spec.externalName ?? '').toLowerCase().replace(/\.$/, '');
      if (!target) return this.nx();
      const cname: Answer = { type: 'CNAME', name: qname, ttl: this.ttl, data: target };
      if (qtype === 'CNAME') return this.ok([cname]);
      // Follow a target inside the zone here; outside it, the server resolves it.
      if (this.inZone(target)) {
        const inner = this.answer(target, qtype);
        return { rcode: 'NOERROR', answers: [cname, ...(inner?.answers ?? [])], authorities: inner?.answers.length ? [] : [this.soa()], additionals: [] };
      }
      return { rcode: 'NOERROR', answers: [cname], authorities: [], additionals: [], chase: target };
    }
    if (qtype === 'SRV') return this.srvRecords(qname, undefined, undefined, name, ns, qtype);
    if (qtype !== 'A' && qtype !== 'ANY') {
      // The name exists (unless a headless Service has nothing ready).
      if (isHeadless(svc) && readyAddresses(svc, this.view.slices(ns, name)).length === 0) return this.nx();
      return this.nodata();
    }
    if (!isHeadless(svc)) return this.ok([this.a(qname, svc.spec!.clusterIP!)]);
    const ready = readyAddresses(svc, this.view.slices(ns, name));
    if (ready.length === 0) return this.nx();
    return this.ok(ready.map((e) => this.a(qname, e.ip)));
  }

  private srvRecords(qname: string, port: string | undefined, proto: string | undefined, name: string, ns: string, qtype: string): ZoneAnswer {
    const svc = this.view.service(ns, name);
    if (!svc || svc.spec?.type === 'ExternalName') return this.nx();
    const matches = (pname: string, pproto: string) => !!pname && (port === undefined || pname.toLowerCase() === port) && (proto === undefined || pproto.toLowerCase() === proto);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    if (!isHeadless(svc)) {
      const target = this.serviceName(name, ns);
      for (const p of svc.spec?.ports ?? []) {
        if (!matches(p.name ?? '', p.protocol ?? 'TCP')) continue;
        answers.push({ type: 'SRV', name: qname, ttl: this.ttl, data: { priority: 0, weight: 100, port: p.port, target } });
      }
      if (answers.length) additionals.push(this.a(target, svc.spec!.clusterIP!));
    } else {
      const ready = readyAddresses(svc, this.view.slices(ns, name));
      const weight = ready.length ? Math.max(1, Math.floor(100 / ready.length)) : 100;
      for (const e of ready) {
        const target = `${e.hostname}.${this.serviceName(name, ns)}`;
        let any = false;
        for (const p of e.ports) {
          if (!matches(p.name, p.protocol)) continue;
          answers.push({ type: 'SRV', name: qname, ttl: this.ttl, data: { priority: 0, weight, port: p.port, target } });
          any = true;
        }
        if (any) additionals.push(this.a(target, e.ip));
      }
    }
    if (answers.length === 0) return port === undefined ? this.nodata() : this.nx();
    return qtype === 'SRV' || qtype === 'ANY' ? this.ok(answers, additionals) : this.nodata();
  }

  private endpointRecords(qname: string, host: string, name: string, ns: string, qtype: string): ZoneAnswer {
    const svc = this.view.service(ns, name);
    if (!svc || !isHeadless(svc)) return this.nx();
    const hits = readyAddresses(svc, this.view.slices(ns, name)).filter((e) => e.hostname.toLowerCase() === host || dashed(e.ip) === host);
    if (hits.length === 0) return this.nx();
    return qtype === 'A' || qtype === 'ANY' ? this.ok(hits.map((e) => this.a(qname, e.ip))) : this.nodata();
  }

  private reverse(name: string, qname: string, qtype: string): ZoneAnswer | undefined {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4) return undefined;
    const ip = labels.reverse().join('.');
    if (!IPV4.test(ip)) return undefined;
    const targets: string[] = [];
    for (const svc of this.view.servicesByClusterIP(ip)) targets.push(this.serviceName(svc.metadata!.name!, svc.metadata!.namespace!));
    for (const slice of this.view.slicesByAddress(ip)) {
      const svcName = slice.metadata?.labels?.['kubernetes.io/service-name'];
      const ns = slice.metadata?.namespace;
      if (!svcName || !ns) continue;
      const svc = this.view.service(ns, svcName);
      if (!svc || !isHeadless(svc)) continue;
      const e = readyAddresses(svc, [slice]).find((x) => x.ip === ip);
      if (e) targets.push(`${e.hostname}.${this.serviceName(svcName, ns)}`);
    }
    if (targets.length === 0) return undefined;
    if (qtype !== 'PTR' && qtype !== 'ANY') return { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    return this.ok([...new Set(targets)].map((t) => ({ type: 'PTR', name: qname, ttl: this.ttl, data: t })));
  }
}
