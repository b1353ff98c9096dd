// kite's cluster DNS server: answers the cluster zone from informers on Services,
// EndpointSlices and Pods (zone.ts), forwards everything else to the host's resolvers
// (forwarder.ts), over UDP and TCP. It publishes itself as the endpoint of the
// `kube-system/kube-dns` Service (10.96.0.10), so pods reach it through the proxy.
//
// Starting it (the lead wires this into `kite server`):
//
//   const dns = await startDns({
//     transport,                 // any ApiTransport
//     listenIP: nodeIP,          // address pods can reach (the node's); default: this host's first IPv4
//     nodeName,                  // for the endpoint's nodeName
//   });
//   dns.port;                    // where it listens: 53, or 10053 / a free port when 53 is taken
//   await dns.stop();            // withdraws its endpoint and closes
//
// Pods get `nameserver 10.96.0.10` from the kubelet (see config.ts).
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decode, encode } from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Informer } from '../client/informer.js';
import { namespacedKey } from '../client/keys.js';
import { NAMESPACE_INDEX } from '../client/store.js';
import type { ApiTransport } from '../client/transport.js';
import { isAlreadyExists, isNotFound } from '../client/transport.js';
import { hostIPv4Addresses } from '../machinery/pki.js';
import { resourceByPath } from '../machinery/resources.js';
import { DNS_METRICS_PORT, DNS_NAMESPACE, DNS_SERVICE_NAME, kubeDnsService } from './config.js';
import { ClusterZone } from './zone.js';
import type { ClusterView, ZoneOptions } from './zone.js';
import { Forwarder, rcodeOf } from './forwarder.js';
import type { Upstream } from './forwarder.js';

const SERVICES = resourceByPath('', 'v1', 'services')!;
const SLICES = resourceByPath('discovery.k8s.io', 'v1', 'endpointslices')!;
const PODS = resourceByPath('', 'v1', 'pods')!;
const ENDPOINTS = resourceByPath('', 'v1', 'endpoints')!;
const MANAGED_BY = 'kite-dns';

const RCODE: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_CD = 0x0010;

export interface DnsServerOptions extends ZoneOptions {
  transport: ApiTransport;
  /** Which source addresses are answered (default: isClusterClient: the node and its pods). */
  allowedClient?: (address: string) => boolean;
  /** Address to listen on (default: this host's first IPv4 address). */
  listenIP?: string;
  /** Address published as the kube-dns endpoint (default `listenIP`; must not be loopback). */
  advertiseIP?: string;
  /** Port (default 53; when taken, `fallbackPort`, then any free port). 0: any free port. */
  port?: number;
  fallbackPort?: number;
  /** Prometheus-style counters on this TCP port (default 9153 when free; false: none). */
  metricsPort?: number | false;
  /** The node the server runs on (its endpoint's nodeName). */
  nodeName?: string;
  /** Publish the kube-dns Endpoints/EndpointSlice pointing here (default true). */
  publish?: boolean;
  upstreams?: Upstream[];
  resolvConf?: string;
  forwardTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface DnsServer {
  readonly listenIP: string;
  readonly port: number;
  readonly metricsPort?: number;
  readonly zone: ClusterZone;
  readonly forwarder: Forwarder;
  /** Resolves once the caches have synced (answers before that may be NXDOMAIN). */
  readonly ready: Promise<void>;
  /** Answer a question as the server would (for tests and `kite` debugging). */
  query(name: string, type: string): Promise<DecodedPacket>;
  stop(): Promise<void>;
}

const BY_CLUSTER_IP = 'byClusterIP';
const BY_SERVICE = 'byServiceName';
const BY_ADDRESS = 'byAddress';
const BY_IP = 'byPodIP';

/** The informer-backed view the zone answers from. */
class InformerView {
  readonly services: Informer<Service>;
  readonly sliceInformer: Informer<EndpointSlice>;
  readonly pods?: Informer<Pod>;

  constructor(transport: ApiTransport, withPods: boolean) {
    this.services = new Informer<Service>(transport, SERVICES, {
      name: 'dns-services',
      indexers: { [BY_CLUSTER_IP]: (s) => (s.spec?.clusterIP && s.spec.clusterIP !== 'None' ? [s.spec.clusterIP] : []) },
    });
    this.sliceInformer = new Informer<EndpointSlice>(transport, SLICES, {
      name: 'dns-endpointslices',
      indexers: {
        [BY_SERVICE]: (s) => {
          const n = s.metadata?.labels?.['kubernetes.io/service-name'];
          return n ? [namespacedKey(s.metadata?.namespace, n)] : [];
        },
        [BY_ADDRESS]: (s) => [...new Set((s.endpoints ?? []).flatMap((e) => e.addresses ?? []))],
      },
    });
    if (withPods) {
      this.pods = new Informer<Pod>(transport, PODS, {
        name: 'dns-pods',
        indexers: { [BY_IP]: (p) => [...new Set([...(p.status?.podIPs ?? []).map((x) => x.ip ?? ''), p.status?.podIP ?? ''])].filter((ip) => ip !== '') },
      });
    }
  }

  start(): void {
    this.services.start();
    this.sliceInformer.start();
    this.pods?.start();
  }

  async waitForSync(): Promise<boolean> {
    const r = await Promise.all([this.services.waitForSync(), this.sliceInformer.waitForSync(), this.pods?.waitForSync() ?? true]);
    return r.every(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.sliceInformer.stop(), this.pods?.stop()]);
  }

  service(namespace: string, name: string): Service | undefined {
    return this.services.store.get(namespace, name);
  }

  slicesOf(namespace: string, name: string): EndpointSlice[] {
    return this.sliceInformer.store.byIndex(BY_SERVICE, namespacedKey(namespace, name));
  }

  servicesByClusterIP(ip: string): Service[] {
    return this.services.store.byIndex(BY_CLUSTER_IP, ip);
  }

  slicesByAddress(ip: string): EndpointSlice[] {
    return this.sliceInformer.store.byIndex(BY_ADDRESS, ip);
  }

  podsByIP(ip: string): Pod[] {
    return this.pods?.store.byIndex(BY_IP, ip) ?? [];
  }

  namespaceExists(namespace: string): boolean {
    return this.services.store.indexKeys(NAMESPACE_INDEX, namespace).length > 0 || (this.pods?.store.indexKeys(NAMESPACE_INDEX, namespace).length ?? 0) > 0;
  }
}

function viewOf(v: InformerView): ClusterView {
  return {
    service: (ns, n) => v.service(ns, n),
    slices: (ns, n) => v.slicesOf(ns, n),
    servicesByClusterIP: (ip) => v.servicesByClusterIP(ip),
    slicesByAddress: (ip) => v.slicesByAddress(ip),
    podsByIP: (ip) => v.podsByIP(ip),
    namespaceExists: (ns) => v.namespaceExists(ns),
  };
}

interface Counters {
  requests: Map<string, number>;
  responses: Map<string, number>;
  forwarded: number;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** Build an answer for one query packet. */
/**
 * The clients cluster DNS serves: loopback, the node's own addresses, and pods (kite's
 * pod CIDRs are carved from 10.244.0.0–10.250.255.255). Anyone else reaching the host's
 * address gets no answer, so the server is never an open resolver.
 */
export function isClusterClient(address: string, nodeAddresses: string[]): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (a === '::1' || a.startsWith('127.')) return true;
  if (nodeAddresses.includes(a)) return true;
  const m = /^10\.(\d+)\.\d+\.\d+$/.exec(a);
  return !!m && Number(m[1]) >= 244 && Number(m[1]) <= 250;
}

export async function answerQuery(query: DecodedPacket, zone: ClusterZone, forwarder: Forwarder, counters?: Counters): Promise<Packet> {
  const q: Question | undefined = query.questions?.[0];
  const rd = query.flags !== undefined && (query.flags & FLAG_RD) !== 0;
  const base = { type: 'response' as const, id: query.id, questions: query.questions ?? [] };
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  if (!q || opcode !== 0 || (query.questions?.length ?? 0) !== 1) {
    return { ...base, flags: FLAG_QR | FLAG_RA | (rd ? FLAG_RD : 0) | (opcode !== 0 ? RCODE.NOTIMP : RCODE.FORMERR) };
  }
  const qtype = q.type as string;
  const zoneAnswer = q.class && q.class !== 'IN' ? undefined : zone.answer(q.name, qtype);
  if (zoneAnswer) {
    const answers: Answer[] = [...zoneAnswer.answers];
    const authorities = [...zoneAnswer.authorities];
    if (zoneAnswer.chase && (qtype === 'A' || qtype === 'AAAA' || qtype === 'ANY')) {
      try {
        const up = await forwarder.resolve(zoneAnswer.chase, qtype === 'ANY' ? 'A' : qtype);
        answers.push(...(up.answers ?? []).filter((a) => a.type !== 'OPT'));
      } catch {
        // The CNAME alone; the client may resolve the target itself.
      }
    }
    if (counters) bump(counters.responses, zoneAnswer.rcode);
    return { ...base, flags: FLAG_QR | FLAG_AA | FLAG_RA | (rd ? FLAG_RD : 0) | RCODE[zoneAnswer.rcode], answers, authorities, additionals: zoneAnswer.additionals };
  }
  try {
    if (counters) counters.forwarded++;
    const up = await forwarder.resolve(q.name, q.type, { cd: ((query.flags ?? 0) & FLAG_CD) !== 0 });
    const rcode = rcodeOf(up);
    if (counters) bump(counters.responses, rcode);
    return {
      ...base,
      flags: FLAG_QR | FLAG_RA | (rd ? FLAG_RD : 0) | (RCODE[rcode] ?? 0) | (up.flag_ad ? 0x20 : 0),
      answers: (up.answers ?? []).filter((a) => a.type !== 'OPT'),
      authorities: (up.authorities ?? []).filter((a) => a.type !== 'OPT'),
      additionals: (up.additionals ?? []).filter((a) => a.type !== 'OPT'),
    };
  } catch {
    if (counters) bump(counters.responses, 'SERVFAIL');
    return { ...base, flags: FLAG_QR | FLAG_RA | (rd ? FLAG_RD : 0) | RCODE.SERVFAIL };
  }
}

/** Encode a response, with EDNS echoed and truncated (TC) to what the client can take over UDP. */
export function encodeResponse(res: Packet, query: DecodedPacket, udp: boolean): Buffer {
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const out: Packet = { ...res, additionals: [...(res.additionals ?? [])] };
  if (opt) out.additionals!.push({ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] });
  let buf = encode(out);
  const max = udp ? Math.min(4096, Math.max(512, opt?.udpPayloadSize ?? 512)) : 65535;
  if (buf.length > max) {
    buf = encode({ type: 'response', id: res.id, flags: (res.flags ?? 0) | FLAG_TC, questions: res.questions });
  }
  return buf;
}

async function bindUdp(host: string, ports: number[]): Promise<{ sock: UdpSocket; port: number }> {
  let last: unknown;
  for (const port of ports) {
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, host, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      return { sock, port: sock.address().port };
    } catch (err) {
      last = err;
      sock.close();
    }
  }
  throw last;
}

function listenTcp(server: TcpServer | HttpServer, host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onErr = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    server.once('error', onErr);
    server.listen(port, host, () => {
      server.off('error', onErr);
      resolve(true);
    });
  });
}

export async function startDns(opts: DnsServerOptions): Promise<DnsServer> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const listenIP = opts.listenIP ?? hostIPv4Addresses()[0] ?? '127.0.0.1';
  const view = new InformerView(opts.transport, (opts.pods ?? 'verified') === 'verified');
  const zone = new ClusterZone(viewOf(view), opts);
  const counters: Counters = { requests: new Map(), responses: new Map(), forwarded: 0 };

  // UDP and TCP on the same port: take the first port both can have.
  const candidates = opts.port === 0 ? [0] : [opts.port ?? 53, opts.fallbackPort ?? 10053, 0];
  let udp: UdpSocket | undefined;
  let port = 0;
  const tcp = createTcpServer();
  for (const cand of candidates) {
    const u = await bindUdp(listenIP, [cand]).catch(() => undefined);
    if (!u) continue;
    if (await listenTcp(tcp, listenIP, u.port)) {
      udp = u.sock;
      port = u.port;
      break;
    }
    u.sock.close();
  }
  if (!udp) throw new Error(`dns: cannot listen on ${listenIP} (ports ${candidates.join(', ')})`);
  const forwarder = new Forwarder({ upstreams: opts.upstreams, resolvConf: opts.resolvConf, timeoutMs: opts.forwardTimeoutMs, exclude: [`${listenIP}:${port}`] });

  const allowed = opts.allowedClient ?? ((a: string) => isClusterClient(a, [listenIP, ...hostIPv4Addresses()]));
  udp.on('message', (msg, rinfo) => {
    // Not an open resolver: queries from outside the node and its pods are dropped.
    if (!allowed(rinfo.address)) return;
    let query: DecodedPacket;
    try {
      query = decode(msg);
    } catch {
      return;
    }
    if (query.type === 'response') return;
    bump(counters.requests, 'udp');
    void answerQuery(query, zone, forwarder, counters).then((res) => {
      try {
        udp!.send(encodeResponse(res, query, true), rinfo.port, rinfo.address);
      } catch {
        /* socket closed */
      }
    });
  });
  const tcpConns = new Set<Socket>();
  tcp.on('connection', (sock: Socket) => {
    if (!allowed(sock.remoteAddress ?? '')) {
      sock.destroy();
      return;
    }
    tcpConns.add(sock);
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let query: DecodedPacket;
        try {
          query = decode(msg);
        } catch {
          sock.destroy();
          return;
        }
        bump(counters.requests, 'tcp');
        void answerQuery(query, zone, forwarder, counters).then((res) => {
          const body = encodeResponse(res, query, false);
          const head = Buffer.alloc(2);
          head.writeUInt16BE(body.length);
          if (!sock.destroyed) sock.write(Buffer.concat([head, body]));
        });
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => tcpConns.delete(sock));
  });

  let metrics: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (opts.metricsPort !== false) {
    metrics = createHttpServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(req.url === '/health' || req.url === '/ready' ? 200 : 404).end(req.url === '/health' || req.url === '/ready' ? 'OK' : '');
        return;
      }
      const lines = ['# TYPE kite_dns_requests_total counter'];
      for (const [proto, n] of counters.requests) lines.push(`kite_dns_requests_total{proto="${proto}"} ${n}`);
      lines.push('# TYPE kite_dns_responses_total counter');
      for (const [rcode, n] of counters.responses) lines.push(`kite_dns_responses_total{rcode="${rcode}"} ${n}`);
      lines.push('# TYPE kite_dns_forward_requests_total counter', `kite_dns_forward_requests_total ${counters.forwarded}`);
      lines.push('# TYPE kite_dns_cache_hits_total counter', `kite_dns_cache_hits_total ${forwarder.stats.cacheHits}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
    });
    for (const p of [opts.metricsPort ?? DNS_METRICS_PORT, 0]) {
      // Loopback only: the counters are not for anyone who can reach the node's address.
      if (await listenTcp(metrics, '127.0.0.1', p)) {
        metricsPort = (metrics.address() as AddressInfo).port;
        break;
      }
    }
  }

  view.start();
  const ready = view.waitForSync().then(() => undefined);
  const publish = opts.publish !== false;
  const sliceName = `${DNS_SERVICE_NAME}-${(opts.nodeName ?? 'kite').replace(/[^a-z0-9-]/g, '-').slice(0, 40)}`;
  const ports = [
    { name: 'dns', port, protocol: 'UDP' },
    { name: 'dns-tcp', port, protocol: 'TCP' },
  ];
  if (publish) {
    await publishEndpoints(opts.transport, opts.advertiseIP ?? listenIP, opts.nodeName, sliceName, ports, true).catch((err) => log(`dns: publishing kube-dns endpoints failed: ${(err as Error).message}`));
  }
  log(`dns: listening on ${listenIP}:${port} (udp, tcp); forwarding to ${forwarder.servers.map((u) => `${u.host}:${u.port}`).join(', ') || 'nothing'}`);

  return {
    listenIP,
    port,
    metricsPort,
    zone,
    forwarder,
    ready,
    query: (name, type) =>
      answerQuery({ type: 'query', id: 1, flags: FLAG_RD, questions: [{ name, type: type as 'A', class: 'IN' }] } as DecodedPacket, zone, forwarder).then(
        (p) => decode(encode(p)),
      ),
    async stop() {
      if (publish) await publishEndpoints(opts.transport, opts.advertiseIP ?? listenIP, opts.nodeName, sliceName, ports, false).catch(() => {});
      await view.stop();
      udp!.close();
      for (const s of tcpConns) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      if (metrics) {
        metrics.closeAllConnections();
        await new Promise<void>((r) => metrics!.close(() => r()));
      }
    },
  };
}

/**
 * Point `kube-system/kube-dns` at this server (or, `up` false, withdraw it): the
 * Service (created if missing), an Endpoints object and an EndpointSlice.
 */
async function publishEndpoints(t: ApiTransport, ip: string, nodeName: string | undefined, sliceName: string, ports: { name: string; port: number; protocol: string }[], up: boolean): Promise<void> {
  if (up) {
    // The control plane creates the Service at bootstrap; make sure it is there.
    try {
      await t.get(SERVICES, DNS_NAMESPACE, DNS_SERVICE_NAME);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await t.create(SERVICES, DNS_NAMESPACE, kubeDnsService());
      } catch (e2) {
        if (!isAlreadyExists(e2)) throw e2;
      }
    }
  }
  const address = { ip, ...(nodeName ? { nodeName } : {}) };
  const subsets = up ? [{ addresses: [address], ports }] : undefined;
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNS', 'endpointslice.kubernetes.io/skip-mirror': 'true' };
  for (let attempt = 0; attempt < 5; attempt++) {
    let cur: Endpoints | undefined;
    try {
      cur = await t.get<Endpoints>(ENDPOINTS, DNS_NAMESPACE, DNS_SERVICE_NAME);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const next: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { ...(cur?.metadata ?? { name: DNS_SERVICE_NAME, namespace: DNS_NAMESPACE }), labels }, ...(subsets ? { subsets } : {}) };
    try {
      if (cur) await t.update(ENDPOINTS, DNS_NAMESPACE, next);
      else if (up) await t.create(ENDPOINTS, DNS_NAMESPACE, next);
      break;
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
  if (!up) {
    try {
      await t.delete(SLICES, DNS_NAMESPACE, sliceName);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return;
  }
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName, namespace: DNS_NAMESPACE, labels: { 'kubernetes.io/service-name': DNS_SERVICE_NAME, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY, 'k8s-app': 'kube-dns' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, ...(nodeName ? { nodeName } : {}) }],
    ports,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const cur = await t.get<EndpointSlice>(SLICES, DNS_NAMESPACE, sliceName);
      await t.update(SLICES, DNS_NAMESPACE, { ...slice, metadata: { ...slice.metadata, resourceVersion: cur.metadata?.resourceVersion } });
      return;
    } catch (err) {
      if (isNotFound(err)) {
        try {
          await t.create(SLICES, DNS_NAMESPACE, slice);
          return;
        } catch (e2) {
          if (!isAlreadyExists(e2) || attempt === 4) throw e2;
        }
      } else if (attempt === 4) throw err;
    }
  }
}
