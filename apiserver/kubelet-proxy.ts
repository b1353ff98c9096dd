// Streaming pod subresources (log, exec, attach, portforward): the API server finds
// the pod's node and tunnels the request to that node's kubelet (upstream:
// pkg/registry/core/pod/strategy.go *Location + the upgrade-aware proxy). Plain
// requests are proxied as HTTP; upgrades (SPDY, WebSocket) are spliced byte for byte,
// so every protocol kubectl speaks is the kubelet's to answer.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { KubeObject } from '../machinery/object.js';
import { StatusError, badRequest, serviceUnavailable } from '../machinery/status.js';
import type { ApiServer, ConnectRequest } from './server.js';
import { parseProxyName } from './server.js';
import type { Registry } from './registry.js';
import { queryBool } from './request.js';

export interface KubeletClientConfig {
  caCert: string;
  cert?: string;
  key?: string;
}

const DEFAULT_KUBELET_PORT = 10250;

interface PodLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string; containers?: { name: string }[]; initContainers?: { name: string }[]; ephemeralContainers?: { name: string }[] };
}

function containerFor(pod: PodLike, requested: string | null): string {
  const spec = pod.spec ?? {};
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].map((c) => c.name);
  const name = pod.metadata?.name ?? '';
  if (requested) {
    if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const main = (spec.containers ?? []).map((c) => c.name);
  if (main.length === 1) return main[0];
  throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${main.join(' ')}]`);
}

const LOG_PARAMS = ['sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];
const LOG_BOOL_PARAMS = ['follow', 'previous', 'timestamps', 'insecureSkipTLSVerifyBackend'];
const STREAM_BOOL_PARAMS = ['stdin', 'stdout', 'stderr', 'tty'];

/** The kubelet path for a pod subresource request, as upstream builds it. */
export function kubeletPath(sub: string, pod: PodLike, query: URLSearchParams): string {
  const ns = encodeURIComponent(pod.metadata?.namespace ?? '');
  const name = encodeURIComponent(pod.metadata?.name ?? '');
  const out = new URLSearchParams();
  switch (sub) {
    case 'log': {
      const c = containerFor(pod, query.get('container'));
      // Booleans are decoded as upstream decodes PodLogOptions and re-encoded as "true".
      for (const p of LOG_BOOL_PARAMS) if (queryBool(query, p)) out.append(p, 'true');
      for (const p of LOG_PARAMS) for (const v of query.getAll(p)) out.append(p, v);
      const q = out.toString();
      return `/containerLogs/${ns}/${name}/${encodeURIComponent(c)}${q ? '?' + q : ''}`;
    }
    case 'exec':
    case 'attach': {
      const c = containerFor(pod, query.get('container'));
      // Stream flags go to the kubelet as "1", as upstream's streamParams sends them, whatever
      // spelling of true the client used (Python sends "True").
      for (const [k, v] of query) if (k !== 'container' && !STREAM_BOOL_PARAMS.includes(k)) out.append(k, v);
      for (const p of STREAM_BOOL_PARAMS) if (queryBool(query, p)) out.append(p, '1');
      const q = out.toString();
      return `/${sub}/${ns}/${name}/${encodeURIComponent(c)}${q ? '?' + q : ''}`;
    }
    case 'portforward': {
      // PodPortForwardOptions.ports (repeated or comma-separated, as upstream's
      // Convert_Slice_string_To_Slice_int32) goes to the kubelet as one `port` each.
      for (const v of query.getAll('ports')) {
        for (const p of v.split(',')) {
          if (!/^\d+$/.test(p) || Number(p) > 65535) {
            throw badRequest(`cannot convert to []int32: strconv.ParseUint: parsing ${JSON.stringify(p)}: ${/^\d+$/.test(p) ? 'value out of range' : 'invalid syntax'}`);
          }
          out.append('port', p);
        }
      }
      const q = out.toString();
      return `/portForward/${ns}/${name}${q ? '?' + q : ''}`;
    }
    default:
      throw badRequest(`unsupported subresource ${sub}`);
  }
}

interface NodeLike {
  status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

export class KubeletProxy {
  constructor(
    private readonly registry: Registry,
    private readonly client: KubeletClientConfig,
  ) {}

  install(api: ApiServer): void {
    for (const sub of ['log', 'exec', 'attach', 'portforward']) api.onConnect(`pods/${sub}`, (c) => this.handle(sub, c));
    api.onConnect('pods/proxy', (c) => this.proxy(c, this.podTarget(c)));
    api.onConnect('services/proxy', (c) => this.proxy(c, this.serviceTarget(c)));
    api.onConnect('nodes/proxy', (c) => this.proxy(c, this.nodeTarget(c)));
  }

  // ---- the API server's proxy to pods, services and nodes ----------------------

  private podTarget(c: ConnectRequest): ProxyTarget {
    const { scheme, port } = parseProxyName(c.request.name!);
    const pod = c.object as { metadata?: { name?: string }; spec?: { containers?: { ports?: { containerPort: number; name?: string }[] }[] }; status?: { podIP?: string } };
    const ip = pod.status?.podIP;
    if (!ip) throw badRequest(`address not allowed`);
    let p = port;
    const ports = (pod.spec?.containers ?? []).flatMap((ct) => ct.ports ?? []);
    if (!p) p = ports.length ? String(ports[0].containerPort) : '80';
    else if (!/^\d+$/.test(p)) {
      const named = ports.find((cp) => cp.name === p);
      if (!named) throw badRequest(`no such port ${p} on pod ${pod.metadata?.name}`);
      p = String(named.containerPort);
    }
    return { scheme: scheme || 'http', host: ip, port: Number(p) };
  }

  private serviceTarget(c: ConnectRequest): ProxyTarget {
    const { scheme, name, port } = parseProxyName(c.request.name!);
    const svc = c.object as { spec?: { ports?: { name?: string; port: number }[] } };
    const ports = svc.spec?.ports ?? [];
    let svcPort = port ? ports.find((p) => p.name === port || String(p.port) === port) : ports.length === 1 ? ports[0] : undefined;
    if (!svcPort && !port && ports.length > 1) svcPort = undefined;
    if (!svcPort) throw new StatusError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
    const eps = this.registry.getStored(this.registry.resourceOf('', 'v1', 'endpoints'), c.request.namespace, name) as
      | { subsets?: { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[] }
      | undefined;
    const candidates: { ip: string; port: number }[] = [];
    for (const ss of eps?.subsets ?? []) {
      const ep = (ss.ports ?? []).find((p) => (p.name ?? '') === (svcPort!.name ?? ''));
      if (!ep) continue;
      for (const a of ss.addresses ?? []) candidates.push({ ip: a.ip, port: ep.port });
    }
    if (candidates.length === 0) throw new StatusError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
    const pick = candidates[Math.floor(Math.random() * candidates.length)];
    return { scheme: scheme || 'http', host: pick.ip, port: pick.port };
  }

  private nodeTarget(c: ConnectRequest): ProxyTarget {
    const { scheme, port } = parseProxyName(c.request.name!);
    const t = this.target({ spec: { nodeName: (c.object.metadata ?? {}).name } } as unknown as KubeObject);
    return { scheme: scheme || 'https', host: t.host, port: port ? Number(port) : t.port, kubelet: (scheme || 'https') === 'https' };
  }

  private proxy(c: ConnectRequest, t: ProxyTarget): Promise<void> {
    const path = '/' + c.request.rest.map(encodeURIComponent).join('/') + (c.query.toString() ? '?' + c.query.toString() : '');
    const tls = t.scheme === 'https';
    const tlsOpts = t.kubelet
      ? { ca: this.client.caCert, cert: this.client.cert, key: this.client.key, servername: isIPHost(t.host) ? undefined : t.host }
      : { rejectUnauthorized: false };
    if (c.upgrade) {
      const { socket, head } = c.upgrade;
      const up = tls ? tlsConnect({ host: t.host, port: t.port, ...tlsOpts }) : netConnect({ host: t.host, port: t.port });
      up.once(tls ? 'secureConnect' : 'connect', () => {
        const lines = [`${c.req.method} ${path} HTTP/1.1`];
        for (let i = 0; i < c.req.rawHeaders.length; i += 2) {
          const k = c.req.rawHeaders[i].toLowerCase();
          if (k !== 'host' && k !== 'authorization') lines.push(`${c.req.rawHeaders[i]}: ${c.req.rawHeaders[i + 1]}`);
        }
        lines.push(`Host: ${t.host}:${t.port}`);
        up.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length) up.write(head);
        socket.pipe(up);
        up.pipe(socket);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
      socket.on('close', () => up.destroy());
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const headers = { ...c.req.headers };
      delete headers.authorization;
      headers.host = `${t.host}:${t.port}`;
      const opts = { host: t.host, port: t.port, path, method: c.req.method, headers };
      const onRes = (upRes: import('node:http').IncomingMessage) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding') out[k] = v;
        c.res!.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(c.res!);
        upRes.on('end', resolve);
        upRes.on('error', resolve);
      };
      const up = tls ? httpsRequest({ ...opts, ...tlsOpts }, onRes) : httpRequest(opts, onRes);
      c.res!.on('close', () => up.destroy());
      up.on('error', (err) => reject(new StatusError(503, 'ServiceUnavailable', `error trying to reach service: ${err.message}`)));
      c.req.pipe(up);
    });
  }

  private target(pod: KubeObject): { host: string; port: number } {
    const p = pod as PodLike;
    const nodeName = p.spec?.nodeName;
    if (!nodeName) throw badRequest(`pod ${p.metadata?.name} does not have a host assigned`);
    const node = this.registry.getStored(this.registry.resourceOf('', 'v1', 'nodes'), undefined, nodeName) as NodeLike | undefined;
    if (!node) throw new StatusError(404, 'NotFound', `nodes "${nodeName}" not found`);
    const addrs = node.status?.addresses ?? [];
    const host = (addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP') ?? addrs.find((a) => a.type === 'Hostname'))?.address;
    if (!host) throw serviceUnavailable(`no preferred addresses found; known addresses: []`);
    return { host, port: node.status?.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT };
  }

  private async handle(sub: string, c: ConnectRequest): Promise<void> {
    const path = kubeletPath(sub, c.object as PodLike, c.query);
    const { host, port } = this.target(c.object);
    if (c.upgrade) return this.splice(c, host, port, path);
    await new Promise<void>((resolve, reject) => {
      const up = httpsRequest(
        { host, port, path, method: c.req.method, ca: this.client.caCert, cert: this.client.cert, key: this.client.key, servername: isIPHost(host) ? undefined : host, headers: { accept: c.req.headers.accept ?? '*/*' } },
        (upRes) => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding') headers[k] = v;
          c.res!.writeHead(upRes.statusCode ?? 502, headers);
          c.res!.flushHeaders();
          upRes.pipe(c.res!);
          upRes.on('end', resolve);
          upRes.on('error', resolve);
        },
      );
      // A client leaving a `logs -f` ends the upstream request too.
      c.res!.on('close', () => up.destroy());
      up.on('error', (err) => reject(new StatusError(502, 'InternalError', `error dialing backend: ${err.message}`)));
      c.req.pipe(up);
    });
  }

  /** Upgrade: replay the request line and headers to the kubelet, then splice the sockets. */
  private splice(c: ConnectRequest, host: string, port: number, path: string): void {
    const { socket, head } = c.upgrade!;
    const up = tlsConnect({ host, port, ca: this.client.caCert, cert: this.client.cert, key: this.client.key, servername: isIPHost(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }, () => {
      const lines = [`${c.req.method} ${path} HTTP/1.1`];
      const raw = c.req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i].toLowerCase();
        if (k === 'host' || k === 'authorization') continue;
        lines.push(`${raw[i]}: ${raw[i + 1]}`);
      }
      lines.push(`Host: ${host}:${port}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    const close = () => {
      socket.destroy();
      up.destroy();
    };
    up.on('error', (err) => {
      if (!socket.writableEnded && !up.readable) {
        const body = JSON.stringify(new StatusError(502, 'InternalError', `error dialing backend: ${err.message}`).status);
        socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      close();
    });
    socket.on('error', close);
    up.on('close', () => socket.end());
    socket.on('close', () => up.destroy());
  }
}

interface ProxyTarget {
  scheme: string;
  host: string;
  port: number;
  /** Authenticate with the kubelet client certificate (node proxy). */
  kubelet?: boolean;
}

function isIPHost(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

export type UpgradeSocket = Duplex;
