// The nginx configuration that carries the ingress controller's routes (the data plane
// when Debian's nginx is present; the control loop stays in Node). A pure function of
// the routing table, the backends' ready endpoints and the certificate files, so it
// can be tested without nginx and compared to decide whether a reload is needed.
//
// How the Ingress API's rules map onto nginx (the same answers as router.ts gives):
// - one `server` per host pattern, listening on the HTTP and the HTTPS port; an exact
//   host is a plain `server_name`, a wildcard `*.example.com` a regex matching exactly
//   one label (nginx's own `*.` would match several); host-less rules live in the
//   default server, which also answers every host no other server names;
// - `Exact` → `location = /p`; `Prefix /p` → `location = /p` plus `location /p/`
//   (element-wise: `/p`, `/p/`, `/p/x`, never `/pq`); ImplementationSpecific as
//   Prefix; `/` → `location /`. No regex locations, so nginx picks the exact match,
//   else the longest prefix, as the API asks. Where two rules render to the same
//   location the one router.ts ranks first keeps it (Exact before Prefix, then the
//   oldest Ingress);
// - where no rule matches: the oldest Ingress's default backend, else 404;
// - each backend Service port is an `upstream` listing its ready endpoints' IP:port
//   (not the ClusterIP) with keep-alive connections; none ready (or no such Service or
//   port) → 503;
// - TLS: the host's Secret (written to a file by the controller) picked by SNI, the
//   controller's self-signed certificate otherwise.
import { join } from 'node:path';
import type { Route, RoutingTable } from './router.js';

export interface NginxEndpoint {
  ip: string;
  port: number;
}

export interface NginxConfigInput {
  table: RoutingTable;
  /** Ready endpoints of a route's backend; undefined when its Service or port is missing. */
  endpoints: (route: Route) => NginxEndpoint[] | undefined;
  /** The PEM file (certificate and key) for a host pattern with a usable TLS Secret. */
  certificateFor: (host: string) => string | undefined;
  /** The controller's own certificate (PEM file with the key), for every other name. */
  defaultCertificate: string;
  /** nginx's prefix: pid file and temporary files go here. */
  dir: string;
  listenIP: string;
  httpPort: number;
  httpsPort: number;
  workerProcesses?: number | 'auto';
  /** Time to connect to an endpoint before trying the next (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Workers run as root too: the controller's files are private to root. */
  runAsRoot?: boolean;
}

/** A string nginx reads as one token, whatever it holds. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, '')}"`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `server_name` for a host pattern: `*.a.b` matches exactly one label, as the API says. */
export function serverName(host: string): string {
  if (host.startsWith('*.')) return quote(`~^[^.]+${escapeRegex(host.slice(1))}$`);
  return host;
}

/** The nginx locations a route takes, most specific first: [modifier, path]. */
export function locationsOf(route: Pick<Route, 'path' | 'pathType'>): Array<['=' | '', string]> {
  if (route.pathType === 'Exact') return [['=', route.path]];
  const rule = route.path.replace(/\/+$/, '');
  if (rule === '') return [['', '/']];
  return [
    ['=', rule],
    ['', `${rule}/`],
  ];
}

export function renderNginxConfig(i: NginxConfigInput): string {
  const upstreams = new Map<string, NginxEndpoint[]>();
  /** `proxy_pass` to the route's upstream, or 503 with nothing to send to. */
  const action = (route: Route): string => {
    const b = route.backend.service;
    const eps = b ? i.endpoints(route) : undefined;
    if (!b || !eps || eps.length === 0) return 'return 503;';
    const name = `${route.namespace}_${b.name}_${b.port?.name ?? b.port?.number ?? ''}`;
    upstreams.set(name, eps);
    return `proxy_pass http://${name};`;
  };
  const locations = (routes: readonly Route[]): string[] => {
    const out: string[] = [];
    const taken = new Set<string>();
    for (const r of routes) {
      for (const [mod, path] of locationsOf(r)) {
        const key = `${mod} ${path}`;
        if (taken.has(key)) continue;
        taken.add(key);
        out.push(`    location ${mod ? `${mod} ` : ''}${quote(path)} { ${action(r)} }`);
      }
    }
    if (!taken.has(' /')) out.push(`    location / { ${i.table.fallback ? action(i.table.fallback) : 'return 404;'} }`);
    return out;
  };
  const listen = (def: boolean): string[] => [
    `    listen ${i.listenIP}:${i.httpPort}${def ? ' default_server' : ''};`,
    `    listen ${i.listenIP}:${i.httpsPort} ssl${def ? ' default_server' : ''};`,
  ];

  const hosts = i.table.hosts();
  const anyHost = hosts.get('') ?? [];
  const servers: string[] = [];
  servers.push(['  server {', ...listen(true), '    server_name _;', ...locations(anyHost), '  }'].join('\n'));
  // Hosts named only in TLS sections get their certificate; their requests follow the host-less rules.
  const named = new Map<string, readonly Route[]>();
  for (const [host, routes] of hosts) if (host !== '') named.set(host, routes);
  for (const t of i.table.tls) for (const h of t.hosts) if (h && !named.has(h)) named.set(h, anyHost);
  for (const [host, routes] of [...named].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const cert = i.certificateFor(host);
    const tls = cert ? [`    ssl_certificate ${quote(cert)};`, `    ssl_certificate_key ${quote(cert)};`] : [];
    servers.push(['  server {', ...listen(false), `    server_name ${serverName(host)};`, ...tls, ...locations(routes), '  }'].join('\n'));
  }
  const ups = [...upstreams].map(([name, eps]) => [`  upstream ${name} {`, ...eps.map((e) => `    server ${e.ip}:${e.port};`), '    keepalive 64;', '    keepalive_timeout 60s;', '  }'].join('\n'));
  const tmp = (what: string) => quote(join(i.dir, 'tmp', what));
  return `# Written by kite's ingress controller from the cluster's Ingresses; rewritten on every change.
${i.runAsRoot ? 'user root;\nworker_rlimit_nofile 65536;\n' : ''}worker_processes ${i.workerProcesses ?? 'auto'};
pid ${quote(join(i.dir, 'nginx.pid'))};
error_log ${quote(join(i.dir, 'error.log'))} warn;
events { worker_connections 16384; }
http {
  access_log off;
  server_tokens off;
  client_max_body_size 0;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  # Room for host names of the longest length DNS allows (253).
  server_names_hash_bucket_size 512;
  server_names_hash_max_size 4096;
  keepalive_timeout 65s;
  keepalive_requests 10000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:kite_ingress:10m;
  ssl_certificate ${quote(i.defaultCertificate)};
  ssl_certificate_key ${quote(i.defaultCertificate)};
  proxy_http_version 1.1;
  proxy_connect_timeout ${Math.max(1, Math.round((i.connectTimeoutMs ?? 3000) / 1000))}s;
  proxy_read_timeout 60s;
  proxy_send_timeout 60s;
  proxy_next_upstream error timeout;
  proxy_next_upstream_tries 3;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  proxy_set_header Host $http_host;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $connection_upgrade;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Host $http_host;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_set_header X-Real-IP $remote_addr;
${ups.join('\n')}${ups.length ? '\n' : ''}${servers.join('\n')}
}
`;
}
