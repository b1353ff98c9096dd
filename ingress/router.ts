// Ingress routing (the Ingress API's matching rules, networking.k8s.io/v1): which
// backend a request goes to, given the Ingresses this controller serves.
//
// - Hosts: an exact host beats a wildcard (`*.example.com` matches one label:
//   `a.example.com`, not `example.com` nor `a.b.example.com`); rules without a host
//   catch every other host. Only the most specific host's rules are considered.
// - Paths: `Exact` matches the path as is; `Prefix` element-wise on `/`
//   (`/foo` matches `/foo`, `/foo/`, `/foo/bar`, not `/foobar`); ImplementationSpecific
//   is treated as Prefix. The longest matching path wins; with equal length, Exact
//   beats Prefix; then the oldest Ingress.
// - Nothing matches: the oldest Ingress's `spec.defaultBackend`, else 404.
import type { Ingress, IngressBackend, IngressTLS } from 'kubernetes-types/networking/v1.js';

export interface Route {
  namespace: string;
  ingress: string;
  backend: IngressBackend;
  pathType: 'Exact' | 'Prefix';
  path: string;
  /** Ingress creation time + name, for tie breaking. */
  rank: string;
}

export interface TlsEntry {
  namespace: string;
  secretName: string;
  hosts: string[];
  rank: string;
}

function rankOf(ing: Ingress): string {
  return `${ing.metadata?.creationTimestamp ?? ''}|${ing.metadata?.namespace}/${ing.metadata?.name}`;
}

function normalizeHost(h: string): string {
  return h.toLowerCase().replace(/\.$/, '');
}

/** The request's host: the Host header without port, lower case. */
export function requestHost(header: string | undefined): string {
  if (!header) return '';
  const h = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0];
  return normalizeHost(h);
}

export function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function pathMatches(route: Pick<Route, 'path' | 'pathType'>, path: string): boolean {
  if (route.pathType === 'Exact') return path === route.path;
  const rule = route.path.replace(/\/+$/, '');
  if (rule === '') return true; // "/"
  if (!path.startsWith(rule)) return false;
  return path.length === rule.length || path[rule.length] === '/';
}

export class RoutingTable {
  /** host pattern ('' = any host) → routes. */
  private readonly byHost = new Map<string, Route[]>();
  private defaultBackend?: Route;
  readonly tls: TlsEntry[] = [];

  constructor(ingresses: readonly Ingress[]) {
    const sorted = [...ingresses].sort((a, b) => (rankOf(a) < rankOf(b) ? -1 : 1));
    for (const ing of sorted) {
      const ns = ing.metadata?.namespace ?? 'default';
      const name = ing.metadata?.name ?? '';
      const rank = rankOf(ing);
      if (ing.spec?.defaultBackend && !this.defaultBackend) {
        this.defaultBackend = { namespace: ns, ingress: name, backend: ing.spec.defaultBackend, pathType: 'Prefix', path: '/', rank };
      }
      for (const rule of ing.spec?.rules ?? []) {
        const host = normalizeHost(rule.host ?? '');
        let list = this.byHost.get(host);
        if (!list) this.byHost.set(host, (list = []));
        for (const p of rule.http?.paths ?? []) {
          list.push({ namespace: ns, ingress: name, backend: p.backend, pathType: p.pathType === 'Exact' ? 'Exact' : 'Prefix', path: p.path || '/', rank });
        }
      }
      for (const t of ing.spec?.tls ?? ([] as IngressTLS[])) {
        if (t.secretName) this.tls.push({ namespace: ns, secretName: t.secretName, hosts: (t.hosts ?? []).map(normalizeHost), rank });
      }
    }
    for (const list of this.byHost.values()) {
      list.sort((a, b) => {
        const la = a.path.replace(/\/+$/, '').length;
        const lb = b.path.replace(/\/+$/, '').length;
        if (la !== lb) return lb - la;
        if (a.pathType !== b.pathType) return a.pathType === 'Exact' ? -1 : 1;
        return a.rank < b.rank ? -1 : 1;
      });
    }
  }

  /** The rules that apply to a host: its exact rules, else the wildcard's, else the host-less ones. */
  private rulesFor(host: string): Route[] {
    const exact = this.byHost.get(host);
    if (exact && host !== '') return exact;
    for (const [pattern, routes] of this.byHost) if (pattern.startsWith('*.') && hostMatches(pattern, host)) return routes;
    return this.byHost.get('') ?? [];
  }

  match(hostHeader: string | undefined, path: string): Route | undefined {
    const host = requestHost(hostHeader);
    const clean = path.split('?')[0] || '/';
    for (const r of this.rulesFor(host)) if (pathMatches(r, clean)) return r;
    return this.defaultBackend;
  }

  /** The TLS secret for an SNI name (exact host first, then wildcard hosts). */
  tlsFor(serverName: string): TlsEntry | undefined {
    const host = normalizeHost(serverName);
    return this.tls.find((t) => t.hosts.includes(host)) ?? this.tls.find((t) => t.hosts.some((h) => h.startsWith('*.') && hostMatches(h, host)));
  }

  /** Every host pattern ('' = any other host) with its routes, most specific path first. */
  hosts(): ReadonlyMap<string, readonly Route[]> {
    return this.byHost;
  }

  /** The route taken when no rule matches (the oldest Ingress's `spec.defaultBackend`). */
  get fallback(): Route | undefined {
    return this.defaultBackend;
  }

  get size(): number {
    let n = this.defaultBackend ? 1 : 0;
    for (const l of this.byHost.values()) n += l.length;
    return n;
  }
}
