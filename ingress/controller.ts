// kite's ingress controller: an HTTP and an HTTPS listener on the host that route
// requests by the Ingresses of class `kite` (and class-less ones while `kite` is the
// default class) to the ready endpoints of their backend Services, over keep-alive
// connections, terminating TLS with the certificates of the Ingresses' TLS Secrets
// (picked by SNI; a self-signed certificate otherwise). Each served Ingress gets this
// host's address in `status.loadBalancer.ingress`. The ports it listens on are written
// on its IngressClass (annotations ingress.kite.dev/http-port and https-port).
//
// Two data planes, one control loop (the informers, routing table and status here):
// - nginx (the default where Debian's nginx is, or can be, installed): the controller
//   renders an nginx.conf (nginx-config.ts) into its directory, runs its own nginx
//   master there and reloads it on changes, debounced, after `nginx -t` accepted the
//   new configuration (a rejected one keeps the old in effect and is reported as a
//   Warning event on the Ingresses that changed);
// - node: the listeners below, in this process (no nginx on this host, or
//   `dataPlane: 'node'` / KITE_INGRESS_DATA_PLANE=node).
//
// Starting it (the lead wires this into `kite server`):
//
//   const ing = await startIngress({ transport, httpPort: 80, httpsPort: 443 });
//   ing.httpPort, ing.httpsPort  // where it listens: 80/443 when free, else 8080/8443, else any
//   await ing.stop();
import { createServer as createHttpServer, request as httpRequest, Agent } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';
import { EventBroadcaster } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { namespacedKey, objectKey } from '../client/keys.js';
import type { ApiTransport } from '../client/transport.js';
import { isConflict, isNotFound } from '../client/transport.js';
import { hostIPv4Addresses } from '../machinery/pki.js';
import { defaultIngressCertificate } from './default-cert.js';
import { resourceByPath } from '../machinery/resources.js';
import { DEFAULT_CLASS_ANNOTATION, INGRESS_CLASS, INGRESS_CONTROLLER } from './class.js';
import { RoutingTable } from './router.js';
import type { Route } from './router.js';
import { renderNginxConfig } from './nginx-config.js';
import { NginxConfigError, NginxProcess, ensureNginxInstalled, stopLeftoverNginx } from './nginx.js';

const INGRESSES = resourceByPath('networking.k8s.io', 'v1', 'ingresses')!;
const CLASSES = resourceByPath('networking.k8s.io', 'v1', 'ingressclasses')!;
const SERVICES = resourceByPath('', 'v1', 'services')!;
const SLICES = resourceByPath('discovery.k8s.io', 'v1', 'endpointslices')!;
const SECRETS = resourceByPath('', 'v1', 'secrets')!;
const BY_SERVICE = 'byServiceName';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Annotations on the IngressClass telling where this controller listens on the node. */
export const PORT_ANNOTATION_HTTP = 'ingress.kite.dev/http-port';
export const PORT_ANNOTATION_HTTPS = 'ingress.kite.dev/https-port';
/** Per-connection headers (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

export interface IngressOptions {
  transport: ApiTransport;
  /** Default 80 when free, else 8080, else any free port. */
  httpPort?: number;
  /** Default 443 when free, else 8443, else any free port. */
  httpsPort?: number;
  /** Listen address (default all: 0.0.0.0). */
  listenIP?: string;
  /** The address written to Ingress status (default: this host's first IPv4 address). */
  statusIP?: string;
  /** Serve Ingresses of this IngressClass (default `kite`). */
  className?: string;
  /** Time to connect to an endpoint before trying the next (default 3 s). */
  connectTimeoutMs?: number;
  /**
   * nginx (installed on demand when root) or this process; default KITE_INGRESS_DATA_PLANE,
   * else nginx when it can be had, else node.
   */
  dataPlane?: 'nginx' | 'node';
  /**
   * Where the nginx data plane keeps its configuration, certificates, pid and logs (default a
   * temporary directory), and either data plane its default certificate between starts.
   */
  stateDir?: string;
  /** nginx worker processes (default `auto`: one per core). */
  workerProcesses?: number | 'auto';
  /** Wait this long after a change for more before reloading nginx (default 100 ms). */
  reloadDebounceMs?: number;
  log?: (msg: string) => void;
}

export interface IngressController {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Which data plane carries the traffic. */
  readonly dataPlane: 'nginx' | 'node';
  /** Resolves once the caches have synced. */
  readonly ready: Promise<void>;
  /** The routes now in effect (for tests and debugging). */
  routes(): RoutingTable;
  /** Resolves once no change waits to be put in effect (nginx: reloaded, its old workers gone). */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
}

interface Target {
  ip: string;
  port: number;
}

async function listen(server: NetServer, host: string, ports: number[]): Promise<number> {
  let last: unknown;
  for (const port of ports) {
    try {
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: Error) => reject(err);
        server.once('error', onErr);
        server.listen(port, host, () => {
          server.off('error', onErr);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

export async function startIngress(opts: IngressOptions): Promise<IngressController> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const className = opts.className ?? INGRESS_CLASS;
  const statusIP = opts.statusIP ?? hostIPv4Addresses()[0] ?? '127.0.0.1';
  const t = opts.transport;
  const dataPlane = await chooseDataPlane(opts.dataPlane ?? dataPlaneFromEnv(), log);

  const ingresses = new Informer<Ingress>(t, INGRESSES, { name: 'ingress-ingresses' });
  const classes = new Informer<IngressClass>(t, CLASSES, { name: 'ingress-classes' });
  const services = new Informer<Service>(t, SERVICES, { name: 'ingress-services' });
  const slices = new Informer<EndpointSlice>(t, SLICES, {
    name: 'ingress-endpointslices',
    indexers: {
      [BY_SERVICE]: (s) => {
        const n = s.metadata?.labels?.['kubernetes.io/service-name'];
        return n ? [namespacedKey(s.metadata?.namespace, n)] : [];
      },
    },
  });
  const secrets = new Informer<Secret>(t, SECRETS, { name: 'ingress-secrets', fieldSelector: 'type=kubernetes.io/tls' });

  /** Whether `kite` serves this Ingress. */
  const ours = (ing: Ingress): boolean => {
    const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
    if (cls) {
      if (cls !== className) return false;
      const c = classes.store.get(undefined, cls);
      return !c || c.spec?.controller === INGRESS_CONTROLLER;
    }
    // No class: ours while our class is the (only) default.
    const defaults = classes.store.list().filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
    return defaults.length === 0 || (defaults.length === 1 && defaults[0].metadata?.name === className);
  };

  let table = new RoutingTable([]);
  let rebuildTimer: NodeJS.Timeout | undefined;
  const rebuild = () => {
    rebuildTimer = undefined;
    table = new RoutingTable(ingresses.store.list().filter(ours));
  };
  /** nginx's configuration is rebuilt from everything; set once nginx runs. */
  let scheduleSync: (() => void) | undefined;
  const scheduleRebuild = () => {
    if (scheduleSync) scheduleSync();
    else if (!rebuildTimer) rebuildTimer = setTimeout(rebuild, 0);
  };

  // ---- status -------------------------------------------------------------------
  const statusQueue = new Set<string>();
  let statusRunning = false;
  let stopped = false;
  /** Where we listen, once we do; ports other than 80/443 go into the status too. */
  const listening = { http: 0, https: 0 };
  const statusEntry = (): IngressLoadBalancerIngress => {
    const e: IngressLoadBalancerIngress = { ip: statusIP };
    if (listening.http !== 0 && (listening.http !== 80 || listening.https !== 443)) {
      e.ports = [
        { port: listening.http, protocol: 'TCP' },
        { port: listening.https, protocol: 'TCP' },
      ];
    }
    return e;
  };
  const syncStatus = async (): Promise<void> => {
    if (statusRunning) return;
    statusRunning = true;
    try {
      while (statusQueue.size > 0 && !stopped) {
        const [key] = statusQueue;
        statusQueue.delete(key);
        const ing = ingresses.store.getByKey(key);
        if (!ing || ing.metadata?.deletionTimestamp) continue;
        const want = ours(ing) ? [statusEntry()] : [];
        const have = ing.status?.loadBalancer?.ingress ?? [];
        if (JSON.stringify(have) === JSON.stringify(want)) continue;
        // Another controller's Ingress: leave its status alone unless we wrote it.
        if (!ours(ing) && !have.some((h) => h.ip === statusIP)) continue;
        try {
          await t.updateStatus(INGRESSES, ing.metadata!.namespace, { ...ing, status: { loadBalancer: want.length ? { ingress: want } : {} } });
        } catch (err) {
          if (isConflict(err)) statusQueue.add(key);
          else if (!isNotFound(err)) log(`ingress: status of ${key}: ${(err as Error).message}`);
        }
      }
    } finally {
      statusRunning = false;
    }
  };
  const enqueueStatus = (ing: Ingress) => {
    statusQueue.add(objectKey(ing));
    void syncStatus();
  };

  ingresses.addEventHandler({
    onAdd: (i) => {
      scheduleRebuild();
      enqueueStatus(i);
    },
    onUpdate: (a, b) => {
      if (JSON.stringify(a.spec) !== JSON.stringify(b.spec) || JSON.stringify(a.metadata?.annotations) !== JSON.stringify(b.metadata?.annotations)) scheduleRebuild();
      enqueueStatus(b);
    },
    onDelete: scheduleRebuild,
  });
  classes.addEventHandler({
    onAdd: () => {
      scheduleRebuild();
      for (const i of ingresses.store.list()) enqueueStatus(i);
    },
    onUpdate: () => {
      scheduleRebuild();
      for (const i of ingresses.store.list()) enqueueStatus(i);
    },
    onDelete: scheduleRebuild,
  });

  // ---- backends -----------------------------------------------------------------
  const rr = new Map<string, number>();
  /** Ready endpoints of a route's backend Service port. */
  const targetsFor = (route: Route): Target[] | 'no-service' => {
    const b = route.backend.service;
    if (!b) return 'no-service';
    const svc = services.store.get(route.namespace, b.name);
    if (!svc) return 'no-service';
    const sp = (svc.spec?.ports ?? []).find((p) => (b.port?.name ? p.name === b.port.name : p.port === b.port?.number));
    if (!sp) return 'no-service';
    if (svc.spec?.type === 'ExternalName') return [];
    const out: Target[] = [];
    for (const slice of slices.store.byIndex(BY_SERVICE, namespacedKey(route.namespace, b.name))) {
      if (slice.addressType !== 'IPv4') continue;
      const port = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === 'TCP');
      if (!port?.port) continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses.slice(0, 1)) out.push({ ip, port: port.port });
      }
    }
    return out;
  };
  const pick = (key: string, targets: Target[], skip?: Target): Target => {
    const n = (rr.get(key) ?? 0) + 1;
    rr.set(key, n);
    const list = skip && targets.length > 1 ? targets.filter((x) => x !== skip) : targets;
    return list[n % list.length];
  };

  // ---- TLS ----------------------------------------------------------------------
  const defaultCert = await defaultIngressCertificate(opts.stateDir && join(opts.stateDir, 'default.pem'));
  const defaultContext = createSecureContext({ cert: defaultCert.cert, key: defaultCert.key });
  const contexts = new Map<string, { rv: string; ctx: SecureContext }>();
  const contextFor = (serverName: string): SecureContext => {
    const entry = table.tlsFor(serverName);
    if (!entry) return defaultContext;
    const secret = secrets.store.get(entry.namespace, entry.secretName);
    const crt = secret?.data?.['tls.crt'];
    const key = secret?.data?.['tls.key'];
    if (!secret || !crt || !key) return defaultContext;
    const id = objectKey(secret);
    const rv = secret.metadata?.resourceVersion ?? '';
    const cached = contexts.get(id);
    if (cached && cached.rv === rv) return cached.ctx;
    try {
      const ctx = createSecureContext({ cert: Buffer.from(crt, 'base64'), key: Buffer.from(key, 'base64') });
      contexts.set(id, { rv, ctx });
      return ctx;
    } catch (err) {
      log(`ingress: bad certificate in secret ${id}: ${(err as Error).message}`);
      return defaultContext;
    }
  };

  // ---- proxying -----------------------------------------------------------------
  const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, timeout: 60_000 });
  const connectTimeout = opts.connectTimeoutMs ?? 3000;

  const fail = (res: ServerResponse, code: number, text: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(`${code} ${text}\n`);
  };

  const handle = (secure: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    const route = table.match(req.headers.host, req.url ?? '/');
    if (!route) return fail(res, 404, 'Not Found');
    const targets = targetsFor(route);
    if (targets === 'no-service' || targets.length === 0) return fail(res, 503, 'Service Unavailable');
    const key = `${route.namespace}/${route.backend.service?.name}:${route.backend.service?.port?.name ?? route.backend.service?.port?.number}`;
    const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const headers = { ...req.headers };
    for (const h of Object.keys(headers)) if (HOP_BY_HOP.has(h)) delete headers[h];
    for (const h of (req.headers.connection ?? '').split(',')) delete headers[h.trim().toLowerCase()];
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${remote}` : remote;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = secure ? 'https' : 'http';
    headers['x-real-ip'] = remote;
    const attempt = (target: Target, retriesLeft: number) => {
      const up = httpRequest({ host: target.ip, port: target.port, method: req.method, path: req.url, headers, agent, timeout: connectTimeout }, (upRes) => {
        const raw: string[] = [];
        for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
          const name = upRes.rawHeaders[i].toLowerCase();
          if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
          raw.push(upRes.rawHeaders[i], upRes.rawHeaders[i + 1]);
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, raw);
        upRes.pipe(res);
      });
      let connected = false;
      up.on('socket', (s: Socket) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => (connected = true));
      });
      up.on('timeout', () => up.destroy(new Error('timeout')));
      up.on('error', () => {
        // Not connected yet and the body not consumed: another endpoint may do.
        if (!connected && retriesLeft > 0 && !res.headersSent && (req.method === 'GET' || req.method === 'HEAD' || req.readableEnded)) {
          attempt(pick(key, targets, target), retriesLeft - 1);
        } else {
          fail(res, 502, 'Bad Gateway');
        }
      });
      if (req.readableEnded) up.end();
      else req.pipe(up);
    };
    attempt(pick(key, targets), Math.min(2, targets.length - 1));
  };

  /** WebSocket and other upgrades: a raw TCP tunnel to one endpoint. */
  const upgrade = (secure: boolean) => (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const route = table.match(req.headers.host, req.url ?? '/');
    const targets = route ? targetsFor(route) : 'no-service';
    if (!route || targets === 'no-service' || targets.length === 0) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return;
    }
    const target = pick(`${route.namespace}/${route.backend.service?.name}`, targets);
    const up = netConnect({ host: target.ip, port: target.port }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push(`X-Forwarded-Proto: ${secure ? 'https' : 'http'}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  };

  const host = opts.listenIP ?? '0.0.0.0';
  const probeHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let httpPort = 0;
  let httpsPort = 0;
  let closeListeners = async (): Promise<void> => {};
  let nginx: NginxProcess | undefined;
  let nginxTimer: NodeJS.Timeout | undefined;
  let nginxBusy = (): boolean => false;
  let stateDir = '';
  const ownStateDir = !opts.stateDir;
  const events = new EventBroadcaster(t, { log });
  const recorder = events.newRecorder('kite-ingress');

  let plane = dataPlane;
  if (plane === 'nginx') {
    try {
      stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'kite-ingress-'));
      // An nginx left by a killed controller would hold our ports.
      await stopLeftoverNginx(stateDir);
      // Pick the ports as the node data plane would (holding the first while picking the second), then hand them to nginx.
      const held = [createNetServer(), createNetServer()];
      httpPort = await listen(held[0], host, opts.httpPort !== undefined ? [opts.httpPort] : [80, 8080, 0]);
      httpsPort = await listen(held[1], host, opts.httpsPort !== undefined ? [opts.httpsPort] : [443, 8443, 0]).finally(() => held[0].close());
      held[1].close();
      mkdirSync(join(stateDir, 'certs'), { recursive: true, mode: 0o700 });
      const defaultCertFile = join(stateDir, 'default.pem');
      writeFileSync(defaultCertFile, `${defaultCert.cert.trim()}\n${defaultCert.key.trim()}\n`, { mode: 0o600 });

      // TLS Secrets as files nginx reads: checked first (by Node, then once per content by
      // nginx itself), so one bad Secret never fails the whole configuration.
      const written = new Map<string, string>(); // file → digest of what it holds
      const reported = new Map<string, string>(); // secret → resourceVersion whose fault was reported
      /** Certificate digest → why nginx refuses it ('' when it takes it). */
      const nginxVerdicts = new Map<string, string>();
      const used = new Set<string>();
      const pemOf = (secret: Secret): { pem: string; digest: string } | undefined => {
        const crt = secret.data?.['tls.crt'];
        const key = secret.data?.['tls.key'];
        if (!crt || !key) return undefined;
        const pem = `${Buffer.from(crt, 'base64').toString('utf8').trim()}\n${Buffer.from(key, 'base64').toString('utf8').trim()}\n`;
        return { pem, digest: createHash('sha256').update(pem).digest('hex') };
      };
      const reportBadSecret = (secret: Secret, why: string) => {
        const id = objectKey(secret);
        const rv = secret.metadata?.resourceVersion ?? '';
        if (reported.get(id) === rv) return;
        reported.set(id, rv);
        log(`ingress: bad certificate in secret ${id}: ${why}`);
        for (const i of ingresses.store.list().filter(ours)) {
          if (i.metadata?.namespace === secret.metadata?.namespace && (i.spec?.tls ?? []).some((x) => x.secretName === secret.metadata?.name)) {
            recorder.event({ ...i, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, 'Warning', 'BadCertificate', `secret ${secret.metadata?.name}: ${why}; its hosts are served with the default certificate`);
          }
        }
      };
      /** Asks nginx about every certificate the table uses that it has not seen yet. */
      const vetCertificates = async (): Promise<void> => {
        for (const entry of table.tls) {
          const secret = secrets.store.get(entry.namespace, entry.secretName);
          const p = secret && pemOf(secret);
          if (!p || nginxVerdicts.has(p.digest)) continue;
          const file = join(stateDir, 'certs', `vet-${p.digest}.pem`);
          writeFileSync(file, p.pem, { mode: 0o600 });
          try {
            await nginx!.checkCertificate(file);
            nginxVerdicts.set(p.digest, '');
          } catch (err) {
            if (!(err instanceof NginxConfigError)) throw err;
            nginxVerdicts.set(p.digest, err.message);
          } finally {
            rmSync(file, { force: true });
          }
        }
      };
      const certificateFor = (name: string): string | undefined => {
        const entry = table.tlsFor(name);
        const secret = entry ? secrets.store.get(entry.namespace, entry.secretName) : undefined;
        const p = secret && pemOf(secret);
        if (!secret || !p) return undefined;
        try {
          const x509 = new X509Certificate(p.pem);
          if (!x509.checkPrivateKey(createPrivateKey(p.pem))) throw new Error('tls.key is not the key of tls.crt');
        } catch (err) {
          reportBadSecret(secret, (err as Error).message);
          return undefined;
        }
        const verdict = nginxVerdicts.get(p.digest);
        if (verdict === undefined) return undefined; // not vetted yet (the first configuration)
        if (verdict) {
          reportBadSecret(secret, `nginx refuses it: ${verdict}`);
          return undefined;
        }
        const file = join(stateDir, 'certs', `${secret.metadata!.namespace}_${secret.metadata!.name}.pem`);
        if (written.get(file) !== p.digest) {
          writeFileSync(file, p.pem, { mode: 0o600 });
          written.set(file, p.digest);
        }
        used.add(file);
        return file;
      };
      const render = (): { text: string; signature: string } => {
        used.clear();
        const text = renderNginxConfig({
          table,
          endpoints: (r) => {
            const ts = targetsFor(r);
            return ts === 'no-service' ? undefined : ts;
          },
          certificateFor,
          defaultCertificate: defaultCertFile,
          dir: stateDir,
          listenIP: host,
          httpPort,
          httpsPort,
          workerProcesses: opts.workerProcesses,
          connectTimeoutMs: opts.connectTimeoutMs,
          runAsRoot: isRoot,
        });
        // A renewed certificate keeps its file name: its content is part of what is in effect.
        return { text, signature: text + [...used].sort().map((f) => written.get(f)).join(',') };
      };

      const proc = new NginxProcess({ dir: stateDir, probe: { host: probeHost, port: httpPort }, log: (m) => log(`ingress: ${m}`) });
      nginx = proc;
      const first = render();
      await proc.check(first.text);
      await proc.start(first.text);
      let applied = first.signature;
      /** Ingress → the resourceVersion whose refusal by nginx was reported. */
      const reportedRefusal = new Map<string, string>();
      /** The Ingresses of the configuration in effect, as they were then. */
      let inEffect = new Map<string, Ingress>();
      let syncing = false;
      let again = false;
      const checkOf = (text: string): Promise<NginxConfigError | undefined> =>
        proc.check(text).then(
          () => undefined,
          (err: unknown) => {
            if (err instanceof NginxConfigError) return err;
            throw err;
          },
        );
      const sync = async (): Promise<void> => {
        nginxTimer = undefined;
        if (syncing) {
          again = true;
          return;
        }
        syncing = true;
        try {
          do {
            again = false;
            const served = ingresses.store.list().filter(ours);
            table = new RoutingTable(served);
            await vetCertificates();
            let next = render();
            if (next.signature === applied || stopped) continue;
            let effective = served;
            const why = await checkOf(next.text);
            if (why) {
              // One bad Ingress must not hold every other change back: starting from what nginx
              // last accepted, each changed Ingress is taken in if nginx accepts it.
              const accepted = new Map<string, Ingress>();
              const changed: Ingress[] = [];
              for (const i of served) {
                const prev = inEffect.get(objectKey(i));
                if (prev?.metadata?.resourceVersion === i.metadata?.resourceVersion) accepted.set(objectKey(i), i);
                else {
                  changed.push(i);
                  if (prev) accepted.set(objectKey(i), prev);
                }
              }
              const refused: string[] = [];
              for (const i of changed) {
                table = new RoutingTable([...accepted.values(), i].filter((x, n, all) => n === all.length - 1 || objectKey(x) !== objectKey(i)));
                const trial = await checkOf(render().text);
                if (!trial) {
                  accepted.set(objectKey(i), i);
                  continue;
                }
                refused.push(objectKey(i));
                if (reportedRefusal.get(objectKey(i)) !== i.metadata?.resourceVersion) {
                  reportedRefusal.set(objectKey(i), i.metadata?.resourceVersion ?? '');
                  const was = inEffect.has(objectKey(i)) ? 'its previous version stays in effect' : 'it is not served';
                  recorder.event({ ...i, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, 'Warning', 'RELOAD', `nginx rejected the configuration with this Ingress (${was}): ${trial.message}`);
                }
              }
              log(`ingress: nginx rejected the configuration with ${refused.join(', ') || 'the Ingresses as they are'}: ${why.message}`);
              effective = [...accepted.values()];
              table = new RoutingTable(effective);
              next = render();
              if (next.signature === applied) continue;
              const still = await checkOf(next.text);
              if (still) {
                log(`ingress: nginx rejected the configuration, the previous one stays in effect: ${still.message}`);
                continue;
              }
            }
            if (stopped) return;
            await proc.reload(next.text);
            applied = next.signature;
            inEffect = new Map(effective.map((i) => [objectKey(i), i]));
          } while (again && !stopped);
        } catch (err) {
          log(`ingress: nginx configuration: ${(err as Error).message}`);
        } finally {
          syncing = false;
        }
      };
      nginxBusy = () => nginxTimer !== undefined || syncing;
      const debounce = opts.reloadDebounceMs ?? 100;
      scheduleSync = () => {
        if (!nginxTimer && !stopped) nginxTimer = setTimeout(() => void sync(), debounce);
      };
      // Unlike the node data plane (which looks them up per request), nginx holds endpoints and certificates in its configuration.
      for (const inf of [services, slices, secrets] as Informer<{ metadata?: object }>[]) {
        inf.addEventHandler({ onAdd: scheduleSync, onUpdate: scheduleSync, onDelete: scheduleSync });
      }
      closeListeners = async () => {
        if (nginxTimer) clearTimeout(nginxTimer);
        await proc.stop();
        agent.destroy();
        if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
      };
    
    } catch (err) {
      // nginx would not start here (e.g. it cannot bind): serve from this process instead.
      log(`ingress: nginx data plane failed to start (${(err as Error).message}); serving Ingresses from this process`);
      await nginx?.stop().catch(() => undefined);
      nginx = undefined;
      if (ownStateDir && stateDir) rmSync(stateDir, { recursive: true, force: true });
      plane = 'node';
    }
  }
  if (plane === 'node') {
    const http = createHttpServer(handle(false));
    http.on('upgrade', upgrade(false));
    const https = createHttpsServer({ cert: defaultCert.cert, key: defaultCert.key, SNICallback: (name, cb) => cb(null, contextFor(name)) }, handle(true));
    https.on('upgrade', (req: IncomingMessage, socket: TLSSocket, head: Buffer) => upgrade(true)(req, socket, head));
    for (const s of [http, https]) {
      s.keepAliveTimeout = 65_000;
      s.headersTimeout = 70_000;
    }
    httpPort = await listen(http, host, opts.httpPort !== undefined ? [opts.httpPort] : [80, 8080, 0]);
    httpsPort = await listen(https, host, opts.httpsPort !== undefined ? [opts.httpsPort] : [443, 8443, 0]);
    closeListeners = async () => {
      for (const s of [http, https]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      agent.destroy();
    };
  }
  listening.http = httpPort;
  listening.https = httpsPort;

  for (const i of [ingresses, classes, services, slices, secrets]) (i as Informer<{ metadata?: object }>).start();
  const ready = Promise.all([ingresses, classes, services, slices, secrets].map((i) => (i as Informer<{ metadata?: object }>).waitForSync())).then(async () => {
    rebuild();
    if (scheduleSync) scheduleSync();
    for (const i of ingresses.store.list()) enqueueStatus(i);
    // Say where we listen, on our IngressClass (ports may differ from 80/443).
    if (classes.store.get(undefined, className)) {
      await t
        .patch(CLASSES, undefined, className, 'merge', { metadata: { annotations: { [PORT_ANNOTATION_HTTP]: String(httpPort), [PORT_ANNOTATION_HTTPS]: String(httpsPort) } } })
        .catch((err) => log(`ingress: annotating IngressClass ${className}: ${(err as Error).message}`));
    }
  });
  log(plane === 'nginx' ? `ingress: data plane nginx (pid ${nginx?.pid}, configuration in ${stateDir})` : 'ingress: data plane in this process');
  // `kite up` reads this line to tell the user where Ingresses are served.
  log(`ingress: listening on ${host}:${httpPort} (http) and ${host}:${httpsPort} (https), address ${statusIP}`);

  return {
    httpPort,
    httpsPort,
    dataPlane: plane,
    ready,
    routes: () => table,
    async whenIdle() {
      await ready;
      while (!stopped && (rebuildTimer !== undefined || nginxBusy())) await new Promise((r) => setTimeout(r, 10));
    },
    async stop() {
      stopped = true;
      if (rebuildTimer) clearTimeout(rebuildTimer);
      await Promise.all([ingresses.stop(), classes.stop(), services.stop(), slices.stop(), secrets.stop()]);
      await closeListeners();
      await events.shutdown();
    },
  };
}

function dataPlaneFromEnv(): 'nginx' | 'node' | undefined {
  const v = process.env.KITE_INGRESS_DATA_PLANE;
  return v === 'nginx' || v === 'node' ? v : undefined;
}

/** nginx when asked for (it must then be there or installable), or when it can be had; else node. */
async function chooseDataPlane(wanted: 'nginx' | 'node' | undefined, log: (msg: string) => void): Promise<'nginx' | 'node'> {
  if (wanted === 'node') return 'node';
  try {
    await ensureNginxInstalled((m) => log(`ingress: ${m}`));
    return 'nginx';
  } catch (err) {
    if (wanted === 'nginx') throw err;
    log(`ingress: no nginx (${(err as Error).message}); serving Ingresses from this process`);
    return 'node';
  }
}
