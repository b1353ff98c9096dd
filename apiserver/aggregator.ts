// The aggregation layer (upstream: kube-aggregator): an APIService with `spec.service`
// hands its group/version to an API server running in the cluster. Requests under
// /apis/GROUP/VERSION are authenticated and authorized here, then proxied to a ready
// endpoint of the Service (resolved through its EndpointSlices) over HTTPS verified with
// the APIService's caBundle, carrying the caller's identity in X-Remote-* headers and
// the front-proxy client certificate that vouches for them. The backend's discovery
// document is fetched by the availability check and merged into /apis and aggregated
// discovery.
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { KubeObject } from '../machinery/object.js';
import type { UserInfo } from './context.js';
import type { CachedEvent } from './watchcache.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What the aggregator reads of cluster state (apiserver/lookups.ts ClusterLookups). */
export interface AggregatorLookups {
  get(group: string, plural: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(group: string, plural: string, namespace?: string): KubeObject[];
  onChange(group: string, plural: string, onChange: (ev: CachedEvent) => void): () => void;
}

export interface AggregatorOptions {
  /** The front-proxy client certificate presented to aggregated API servers. */
  proxyClient?: { cert: string; key: string };
}

/** One group/version served by an API server in the cluster. */
export interface RemoteAPIService {
  name: string;
  group: string;
  version: string;
  service: { namespace: string; name: string; port: number };
  groupPriorityMinimum: number;
  versionPriority: number;
  available: boolean;
  /** The caBundle (PEM) the backend's certificate is verified with, unless insecure. */
  ca?: string;
  insecure: boolean;
  agent: Agent;
}

/** An APIService's Available condition as the availability check finds it (upstream reasons). */
export interface AvailableCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** A discovery group the aggregator adds: its versions, preferred first, with the backend's resources. */
export interface AggregatedGroup {
  name: string;
  versions: { version: string; resources?: Obj[] }[];
}

/** A failure the availability check reports with this reason. */
class CheckFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const CHECK_TIMEOUT_MS = 5_000;
/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the caller's credentials. */
const DROPPED_REQUEST_HEADERS = new Set(['authorization', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export class Aggregator {
  private remotes = new Map<string, RemoteAPIService>();
  private readonly discovered = new Map<string, Obj[]>();
  private gen = 0;
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly lookups: AggregatorLookups,
    private readonly opts: AggregatorOptions = {},
  ) {
    this.stops.push(lookups.onChange('apiregistration.k8s.io', 'apiservices', () => this.rebuild()));
    this.rebuild();
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    for (const r of this.remotes.values()) r.agent.destroy();
    this.remotes.clear();
  }

  /** Changes whenever the groups, versions or resources the aggregator adds to discovery change. */
  get generation(): number {
    return this.gen;
  }

  private rebuild(): void {
    const next = new Map<string, RemoteAPIService>();
    for (const svc of this.lookups.list('apiregistration.k8s.io', 'apiservices')) {
      const spec = obj(svc.spec);
      const s = obj(spec.service);
      if (!spec.service || !str(s.name)) continue;
      const group = str(spec.group);
      const version = str(spec.version);
      const key = `${group}/${version}`;
      const ca = str(spec.caBundle) ? Buffer.from(str(spec.caBundle), 'base64').toString('utf8') : undefined;
      const insecure = spec.insecureSkipTLSVerify === true;
      const service = { namespace: str(s.namespace), name: str(s.name), port: typeof s.port === 'number' ? s.port : 443 };
      const available = arr(obj(svc.status).conditions).some((c) => str(obj(c).type) === 'Available' && str(obj(c).status) === 'True');
      const old = this.remotes.get(key);
      // The connection pool is kept while the trust settings and target stay the same.
      const sameTarget = old && old.service.namespace === service.namespace && old.service.name === service.name && old.service.port === service.port;
      const sameTrust = old && old.ca === ca && old.insecure === insecure;
      const agent =
        old && sameTarget && sameTrust
          ? old.agent
          : new Agent({ keepAlive: true, maxSockets: 64, ca, rejectUnauthorized: !insecure, cert: this.opts.proxyClient?.cert, key: this.opts.proxyClient?.key });
      const remote: RemoteAPIService = {
        name: svc.metadata?.name ?? '',
        group,
        version,
        service,
        groupPriorityMinimum: typeof spec.groupPriorityMinimum === 'number' ? spec.groupPriorityMinimum : 0,
        versionPriority: typeof spec.versionPriority === 'number' ? spec.versionPriority : 0,
        available,
        agent,
        ca,
        insecure,
      };
      next.set(key, remote);
    }
    for (const [key, old] of this.remotes) {
      if (next.get(key)?.agent !== old.agent) old.agent.destroy();
      if (!next.has(key)) this.discovered.delete(key);
    }
    const shape = (m: Map<string, RemoteAPIService>) => JSON.stringify([...m.values()].map((r) => [r.group, r.version, r.available, r.groupPriorityMinimum, r.versionPriority]).sort());
    if (shape(next) !== shape(this.remotes)) this.gen++;
    this.remotes = next;
  }

  /** The remote APIService serving this group/version, if one does. */
  target(group: string, version: string): RemoteAPIService | undefined {
    return this.remotes.get(`${group}/${version}`);
  }

  /** Whether some remote APIService's Service lives in this namespace (its Service and slice changes matter). */
  servesFrom(namespace: string | undefined): boolean {
    for (const r of this.remotes.values()) if (r.service.namespace === namespace) return true;
    return false;
  }

  /** Whether some remote APIService serves this group. */
  hasGroup(group: string): boolean {
    for (const r of this.remotes.values()) if (r.group === group) return true;
    return false;
  }

  /** The groups the aggregator adds to discovery, by upstream's order (group priority, then version priority). */
  groups(): AggregatedGroup[] {
    const byGroup = new Map<string, RemoteAPIService[]>();
    for (const r of this.remotes.values()) {
      let list = byGroup.get(r.group);
      if (!list) byGroup.set(r.group, (list = []));
      list.push(r);
    }
    const groups = [...byGroup.values()].map((list) => list.sort((a, b) => b.versionPriority - a.versionPriority || a.version.localeCompare(b.version)));
    groups.sort((a, b) => Math.max(...b.map((r) => r.groupPriorityMinimum)) - Math.max(...a.map((r) => r.groupPriorityMinimum)) || a[0].group.localeCompare(b[0].group));
    return groups.map((list) => ({
      name: list[0].group,
      versions: list.map((r) => ({ version: r.version, resources: r.available ? this.discovered.get(`${r.group}/${r.version}`) : undefined })),
    }));
  }

  /** A ready address of the APIService's Service, or a CheckFailure with upstream's reason. */
  private endpoint(r: RemoteAPIService): { host: string; port: number } {
    const { namespace, name, port } = r.service;
    const service = this.lookups.get('', 'services', namespace, name);
    if (!service) throw new CheckFailure('ServiceNotFound', `service/${name} in "${namespace}" is not present`);
    const spec = obj(service.spec);
    if (str(spec.type) === 'ExternalName') return { host: str(spec.externalName), port };
    const svcPort = arr(spec.ports)
      .map(obj)
      .find((p) => p.port === port);
    if (!svcPort) throw new CheckFailure('ServicePortError', `service/${name} in "${namespace}" is not listening on port ${port}`);
    const slices = this.lookups.list('discovery.k8s.io', 'endpointslices', namespace).filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === name);
    if (slices.length === 0) throw new CheckFailure('EndpointsNotFound', `cannot find endpoints for service/${name} in "${namespace}"`);
    const candidates: { host: string; port: number }[] = [];
    for (const slice of slices) {
      const slicePort = arr((slice as Obj).ports)
        .map(obj)
        .find((p) => str(p.name) === str(svcPort.name));
      if (!slicePort || typeof slicePort.port !== 'number') continue;
      for (const ep of arr((slice as Obj).endpoints).map(obj)) {
        if (obj(ep.conditions).ready === false) continue;
        for (const addr of arr<string>(ep.addresses)) candidates.push({ host: addr, port: slicePort.port });
      }
    }
    if (!candidates.length) throw new CheckFailure('MissingEndpoints', `endpoints for service/${name} in "${namespace}" have no addresses with port name "${str(svcPort.name)}"`);
    return candidates[Math.floor(Math.random() * candidates.length)];
  }

  /** Headers for the backend: the caller's, without credentials, plus who the caller is. */
  private proxyHeaders(headers: IncomingHttpHeaders, user: UserInfo, servername: string): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined || DROPPED_REQUEST_HEADERS.has(k) || k.startsWith('impersonate-') || k.startsWith('x-remote-')) continue;
      out[k] = v;
    }
    out.host = servername;
    out['x-remote-user'] = user.name;
    if (user.groups.length) out['x-remote-group'] = [...user.groups];
    for (const [key, values] of Object.entries(user.extra ?? {})) out[`x-remote-extra-${encodeURIComponent(key)}`] = [...values];
    if (user.uid) out['x-remote-uid'] = user.uid;
    return out;
  }

  /** Proxy the request to the APIService's backend, streaming both ways (watches included). */
  proxy(req: IncomingMessage, res: ServerResponse, user: UserInfo, r: RemoteAPIService, pathAndQuery: string): Promise<void> {
    // Upstream's proxy handler answers 503 while the APIService is not Available.
    if (!r.available) {
      sendText(res, 503, 'service unavailable\n');
      return Promise.resolve();
    }
    let target: { host: string; port: number };
    try {
      target = this.endpoint(r);
    } catch {
      // Upstream says no more to the client (the reason is in the APIService's condition).
      sendText(res, 503, 'service unavailable\n');
      return Promise.resolve();
    }
    const servername = `${r.service.name}.${r.service.namespace}.svc`;
    return new Promise<void>((resolve) => {
      const out = httpsRequest(
        { host: target.host, port: target.port, path: pathAndQuery, method: req.method, servername, agent: r.agent, headers: this.proxyHeaders(req.headers, user, servername) },
        (back) => {
          const headers: OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(back.headers)) if (v !== undefined && !DROPPED_RESPONSE_HEADERS.has(k)) headers[k] = v;
          res.writeHead(back.statusCode ?? 502, headers);
          // Watches arrive in pieces: each is passed on as it comes.
          res.flushHeaders();
          back.pipe(res);
          back.on('end', resolve);
          back.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      res.on('close', () => out.destroy());
      out.on('error', (err) => {
        if (!res.headersSent) sendText(res, 503, `Error trying to reach service: '${err.message}'\n`);
        else res.destroy();
        resolve();
      });
      req.pipe(out);
    });
  }

  /**
   * The availability check of one APIService (upstream AvailableConditionController): its
   * Service and a ready endpoint exist, and the backend answers its discovery document
   * (kept for /apis and aggregated discovery). Local APIServices are not checked.
   */
  async check(group: string, version: string): Promise<AvailableCondition | undefined> {
    const r = this.target(group, version);
    if (!r) return undefined;
    const key = `${group}/${version}`;
    try {
      const target = this.endpoint(r);
      const path = `/apis/${group}/${version}`;
      const doc = await this.fetchJson(r, target, path).catch((err: Error) => {
        throw new CheckFailure('FailedDiscoveryCheck', `failing or missing response from https://${target.host}:${target.port}${path}: ${err.message}`);
      });
      const resources = arr(obj(doc).resources).map(obj);
      if (JSON.stringify(this.discovered.get(key)) !== JSON.stringify(resources)) {
        this.discovered.set(key, resources);
        this.gen++;
      }
      return { status: 'True', reason: 'Passed', message: 'all checks passed' };
    } catch (err) {
      if (err instanceof CheckFailure) return { status: 'False', reason: err.reason, message: err.message };
      return { status: 'False', reason: 'FailedDiscoveryCheck', message: (err as Error).message };
    }
  }

  private fetchJson(r: RemoteAPIService, target: { host: string; port: number }, path: string): Promise<unknown> {
    const servername = `${r.service.name}.${r.service.namespace}.svc`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: target.host,
          port: target.port,
          path,
          method: 'GET',
          servername,
          agent: r.agent,
          timeout: CHECK_TIMEOUT_MS,
          // The check runs as the aggregator itself (upstream: system:kube-aggregator via the front proxy).
          headers: { host: servername, accept: 'application/json', 'x-remote-user': 'system:kube-aggregator', 'x-remote-group': 'system:masters' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) {
              reject(new Error(`bad status from https://${target.host}:${target.port}${path}: ${code}`));
              return;
            }
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('Client.Timeout exceeded while awaiting headers')));
      req.on('error', reject);
      req.end();
    });
  }
}

function sendText(res: ServerResponse, code: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Authorization attributes of a request under /apis/GROUP/VERSION/… (upstream's RequestInfoFactory). */
export function aggregatedRequestAttributes(method: string, segments: string[], query: URLSearchParams): { verb: string; namespace: string; resource: string; name: string; subresource: string } | undefined {
  let rest = segments.slice(3);
  if (rest.length === 0) return undefined;
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  const m = method.toUpperCase();
  let verb: string;
  if (m === 'GET' || m === 'HEAD') verb = watch || /^(1|t|true)$/i.test(query.get('watch') ?? '') ? 'watch' : name ? 'get' : 'list';
  else if (m === 'POST') verb = 'create';
  else if (m === 'PUT') verb = 'update';
  else if (m === 'PATCH') verb = 'patch';
  else if (m === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = m.toLowerCase();
  return { verb, namespace, resource, name, subresource };
}
