// The kubelet's HTTPS server (upstream: pkg/kubelet/server/server.go), on
// port 10250 by default. Every request is authenticated (client certificate from
// the cluster CA, or a bearer token via TokenReview) and authorized (a
// SubjectAccessReview on nodes/<subresource>) — see auth.ts.
// The API server reaches it for logs, exec, attach and port-forward:
//
//   GET  /healthz                                  "ok"
//   GET  /pods                                     PodList of this node's pods
//   GET  /stats/summary                            resource usage of the node, pods, containers
//   GET  /metrics/resource                         the same as Prometheus text (container_cpu_usage_seconds_total, …)
//   GET  /metrics                                  the kubelet's own metrics (kubelet_running_pods, …)
//   GET  /containerLogs/{ns}/{pod}/{container}     ?follow&previous&tailLines&sinceSeconds&sinceTime&timestamps&limitBytes
//   GET|POST /exec/{ns}/{pod}[/{uid}]/{container}  ?command=..&stdin&stdout&stderr&tty   (WebSocket or SPDY upgrade)
//   GET|POST /attach/{ns}/{pod}[/{uid}]/{container}
//   GET|POST /portForward/{ns}/{pod}[/{uid}]       (SPDY, or WebSocket tunnelling SPDY)
import { createServer, type Server } from 'node:https';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ContainerStatus, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { rfc3339ToNanos, writeContainerLog, type LogOptions } from '../logs.js';
import type { PodRuntime, RuntimePodStatus } from '../types.js';
import type { AuthResult } from './auth.js';
import type { StatsProvider } from '../stats.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../machinery/metrics.js';
import { headerList, spdyUpgradeResponse } from './spdy.js';
import {
  PORT_FORWARD_PROTOCOL,
  PORT_FORWARD_TUNNEL_PROTOCOL,
  REMOTE_COMMAND_PROTOCOLS,
  STREAM_PROTOCOL_V4,
  STREAM_PROTOCOL_V5,
  StreamingError,
  bridgeSpdy,
  bridgeWebSocketRemoteCommand,
  bridgeWebSocketTunnel,
  dialSpdy,
  negotiate,
  relayWebSocketUpgrade,
  webSocketForwardPorts,
  type BackendSession,
  type StreamOptions,
} from './streaming.js';

/** What the server needs from the kubelet. */
export interface KubeletServerHost {
  getPod(namespace: string, name: string): Pod | undefined;
  pods(): Pod[];
  runtime: PodRuntime;
  /** the kubelet's latest status for a pod (falls back to the API's) */
  podStatus(uid: string): PodStatus | undefined;
  log?: (msg: string) => void;
  /** resource usage (/stats/summary, /metrics/resource) */
  stats?: StatsProvider;
  /** the kubelet's own metrics in the Prometheus text format (/metrics) */
  metrics?: () => string;
}

export interface KubeletServerOptions {
  host: KubeletServerHost;
  address: string;
  port: number;
  tls: { cert: string; key: string; ca: string };
  /**
   * Authentication and authorization of every request (KubeletAuth). Without it
   * only a client certificate from the CA is required (tests, hollow nodes).
   */
  auth?: { check(req: IncomingMessage): Promise<AuthResult> };
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 500: 'InternalError', 502: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

function statusBody(code: number, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', code });
}

function sendError(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusBody(code, message);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function socketError(socket: Duplex, code: number, message: string): void {
  const body = statusBody(code, message);
  try {
    socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  } catch {
    socket.destroy();
  }
}

/** Authentication and authorization failures are plain text, as upstream's filter writes them. */
function sendPlain(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(message) + 1 });
  res.end(`${message}\n`);
}

function socketPlain(socket: Duplex, code: number, message: string): void {
  const body = `${message}\n`;
  try {
    socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  } catch {
    socket.destroy();
  }
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true' || v === 'True';
}

interface Route {
  kind: 'healthz' | 'pods' | 'logs' | 'exec' | 'attach' | 'portforward' | 'runningpods' | 'summary' | 'metricsResource' | 'metrics';
  namespace?: string;
  pod?: string;
  uid?: string;
  container?: string;
}

export function parseRoute(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const head = parts[0]?.toLowerCase();
  switch (head) {
    case 'healthz':
      return { kind: 'healthz' };
    case 'pods':
      return parts.length === 1 ? { kind: 'pods' } : undefined;
    case 'runningpods':
      return { kind: 'runningpods' };
    case 'stats':
      return parts.length === 1 || (parts.length === 2 && parts[1] === 'summary') ? { kind: 'summary' } : undefined;
    case 'metrics':
      // /metrics/resource before the generic /metrics
      if (parts.length === 2 && parts[1] === 'resource') return { kind: 'metricsResource' };
      return parts.length === 1 ? { kind: 'metrics' } : undefined;
    case 'containerlogs':
      if (parts.length === 4) return { kind: 'logs', namespace: parts[1], pod: parts[2], container: parts[3] };
      if (parts.length === 3) return { kind: 'logs', namespace: parts[1], pod: parts[2] };
      return undefined;
    case 'exec':
    case 'attach': {
      const kind = head;
      if (parts.length === 4) return { kind, namespace: parts[1], pod: parts[2], container: parts[3] };
      if (parts.length === 5) return { kind, namespace: parts[1], pod: parts[2], uid: parts[3], container: parts[4] };
      if (parts.length === 3) return { kind, namespace: parts[1], pod: parts[2] };
      return undefined;
    }
    case 'portforward':
      if (parts.length === 3) return { kind: 'portforward', namespace: parts[1], pod: parts[2] };
      if (parts.length === 4) return { kind: 'portforward', namespace: parts[1], pod: parts[2], uid: parts[3] };
      return undefined;
    default:
      return undefined;
  }
}

function allContainerNames(pod: Pod): string[] {
  return [
    ...(pod.spec?.containers ?? []).map((c) => c.name),
    ...(pod.spec?.initContainers ?? []).map((c) => c.name),
    ...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name),
  ];
}

export class KubeletServer {
  private server?: Server;
  private readonly sessions = new Set<{ close(): void }>();
  port = 0;

  constructor(private readonly o: KubeletServerOptions) {}

  private get host(): KubeletServerHost {
    return this.o.host;
  }

  private log(msg: string): void {
    this.host.log?.(msg);
  }

  async listen(): Promise<number> {
    const server = createServer({
      cert: this.o.tls.cert,
      key: this.o.tls.key,
      ca: this.o.tls.ca,
      requestCert: true,
      // With auth, callers without a certificate may still bring a bearer token.
      rejectUnauthorized: !this.o.auth,
    });
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    server.on('request', (req, res) => {
      this.handle(req, res).catch((err) => sendError(res, err instanceof HttpError ? err.code : 500, err instanceof Error ? err.message : String(err)));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head).catch((err) => {
        const code = err instanceof HttpError || err instanceof StreamingError ? (err as HttpError).code ?? (err as StreamingError).statusCode : 500;
        socketError(socket, code || 500, err instanceof Error ? err.message : String(err));
      });
    });
    server.on('tlsClientError', () => {});
    // The port may be taken (another kite cluster on this host): take the next free one.
    for (let port = this.o.port, tries = 0; ; port++, tries++) {
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          server.once('error', onError);
          server.listen(port, this.o.address, () => {
            server.off('error', onError);
            resolve();
          });
        });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || this.o.port === 0 || tries >= 100) throw err;
      }
    }
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Whether the request may go on; when not, the answer (text) is what to send. */
  private async checkClient(req: IncomingMessage): Promise<AuthResult | undefined> {
    if (this.o.auth) {
      const r = await this.o.auth.check(req);
      return r.ok ? undefined : r;
    }
    const sock = req.socket as TLSSocket;
    return sock.authorized ? undefined : { ok: false, code: 401, message: 'Unauthorized' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const denied = await this.checkClient(req);
    if (denied && !denied.ok) {
      sendPlain(res, denied.code, denied.message);
      return;
    }
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    if (!route) throw new HttpError(404, `the path ${url.pathname} is not served by the kubelet`);
    switch (route.kind) {
      case 'healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      case 'pods':
      case 'runningpods': {
        const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.host.pods() });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case 'logs':
        await this.serveLogs(req, res, route, url.searchParams);
        return;
      case 'summary': {
        if (!this.host.stats) throw new HttpError(404, 'stats are not available on this node');
        const body = JSON.stringify(this.host.stats.summary());
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case 'metricsResource':
      case 'metrics': {
        const body = route.kind === 'metrics' ? (this.host.metrics?.() ?? '') : (this.host.stats?.resourceMetrics() ?? '');
        res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      default:
        throw new HttpError(400, 'Upgrade request required');
    }
  }

  private findPod(route: Route): Pod {
    const pod = this.host.getPod(route.namespace ?? '', route.pod ?? '');
    if (!pod || (route.uid && pod.metadata?.uid !== route.uid)) throw new HttpError(404, `pod "${route.pod}" does not exist`);
    return pod;
  }

  private defaultContainer(pod: Pod, name: string | undefined): string {
    if (name) {
      if (!allContainerNames(pod).includes(name)) throw new HttpError(400, `container ${name} is not valid for pod ${pod.metadata?.name}`);
      return name;
    }
    const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
    if (annotated && allContainerNames(pod).includes(annotated)) return annotated;
    const containers = pod.spec?.containers ?? [];
    if (containers.length === 1) return containers[0]!.name;
    throw new HttpError(400, `a container name must be specified for pod ${pod.metadata?.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
  }

  // ---------------------------------------------------------------- logs

  /** Which container instance to read (upstream validateContainerLogStatus). */
  private logContainerId(pod: Pod, container: string, previous: boolean): string {
    const status = this.host.podStatus(pod.metadata!.uid!) ?? pod.status ?? {};
    const all: ContainerStatus[] = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])];
    const cs = all.find((c) => c.name === container);
    const podName = pod.metadata?.name;
    if (!cs) throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: ContainerCreating`);
    const last = cs.lastState?.terminated;
    if (previous) {
      if (!last?.containerID) throw new HttpError(400, `previous terminated container "${container}" in pod "${podName}" not found`);
      return last.containerID;
    }
    if (cs.state?.running) return cs.containerID ?? '';
    if (cs.state?.terminated) {
      if (cs.state.terminated.containerID) return cs.state.terminated.containerID;
      if (last?.containerID) return last.containerID;
      throw new HttpError(400, `container "${container}" in pod "${podName}" is terminated`);
    }
    if (last) {
      if (!last.containerID) throw new HttpError(400, `container "${container}" in pod "${podName}" is terminated`);
      return last.containerID;
    }
    const reason = cs.state?.waiting?.reason;
    if (reason === 'ErrImagePull') throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
    if (reason) throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
    throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
  }

  private async serveLogs(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): Promise<void> {
    const pod = this.findPod(route);
    const container = this.defaultContainer(pod, route.container ?? q.get('container') ?? undefined);
    const previous = boolParam(q, 'previous');
    const containerID = this.logContainerId(pod, container, previous).replace(/^[a-z]+:\/\//, '');
    const rs = await this.host.runtime.podStatus(pod.metadata!.uid!, pod.metadata!.name!, pod.metadata!.namespace!);
    const inst = rs.containers.find((c) => c.id === containerID);
    if (!inst) throw new HttpError(400, `container "${container}" in pod "${pod.metadata?.name}" is not available: the container instance was removed`);
    const opts: LogOptions = { follow: boolParam(q, 'follow'), timestamps: boolParam(q, 'timestamps') };
    const tail = q.get('tailLines');
    if (tail !== null && tail !== '') {
      const n = Number(tail);
      if (!Number.isInteger(n)) throw new HttpError(400, `invalid tailLines ${tail}`);
      if (n >= 0) opts.tailLines = n;
    }
    const limit = q.get('limitBytes');
    if (limit) opts.limitBytes = Number(limit);
    const sinceSeconds = q.get('sinceSeconds');
    const sinceTime = q.get('sinceTime');
    if (sinceSeconds) opts.sinceNanos = BigInt(Date.now() - Number(sinceSeconds) * 1000) * 1_000_000n;
    else if (sinceTime) {
      const n = rfc3339ToNanos(sinceTime);
      if (n === undefined) throw new HttpError(400, `invalid sinceTime ${sinceTime}`);
      opts.sinceNanos = n;
    }
    const stream = q.get('stream');
    if (stream === 'Stdout' || stream === 'stdout') opts.stream = 'stdout';
    else if (stream === 'Stderr' || stream === 'stderr') opts.stream = 'stderr';

    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      await writeContainerLog(inst.logPath, opts, res, {
        isRunning: () => this.host.runtime.containerRunning(inst.id),
        signal: abort.signal,
      });
    } finally {
      if (!res.writableEnded) res.end();
    }
    void req;
  }

  // ---------------------------------------------------------------- exec / attach / port-forward

  private async runningContainer(pod: Pod, container: string): Promise<string> {
    const rs = await this.host.runtime.podStatus(pod.metadata!.uid!, pod.metadata!.name!, pod.metadata!.namespace!);
    const inst = rs.containers.find((c) => c.name === container && c.state === 'running');
    if (!inst) throw new HttpError(400, `container not found ("${container}")`);
    return inst.id;
  }

  private async readySandbox(pod: Pod): Promise<string> {
    const rs: RuntimePodStatus = await this.host.runtime.podStatus(pod.metadata!.uid!, pod.metadata!.name!, pod.metadata!.namespace!);
    const sb = rs.sandboxes.find((s) => s.ready);
    if (!sb) throw new HttpError(400, `pod not found ("${pod.metadata?.name}_${pod.metadata?.namespace}")`);
    return sb.id;
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const denied = await this.checkClient(req);
    if (denied && !denied.ok) {
      socketPlain(socket, denied.code, denied.message);
      return;
    }
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = parseRoute(url.pathname);
    if (!route || (route.kind !== 'exec' && route.kind !== 'attach' && route.kind !== 'portforward')) {
      throw new HttpError(404, `the path ${url.pathname} does not accept upgrades`);
    }
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const isWebSocket = upgrade === 'websocket';
    const isSpdy = upgrade.startsWith('spdy/');
    if (!isWebSocket && !isSpdy) throw new HttpError(400, `unsupported upgrade protocol ${req.headers.upgrade}`);
    const runtime = this.host.runtime;
    const pod = this.findPod(route);
    const q = url.searchParams;

    if (route.kind === 'portforward') {
      if (!runtime.portForwardUrl) throw new HttpError(400, 'port forwarding is not supported by this node');
      const sandbox = await this.readySandbox(pod);
      const ports = q.getAll('port').map(Number).filter((n) => n > 0);
      if (isWebSocket) {
        const offered = headerList(req.headers['sec-websocket-protocol']);
        if (!offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL)) {
          // Plain WebSocket (v4.channel.k8s.io): channels per port, served by the runtime.
          const wsPorts = webSocketForwardPorts(q);
          const target = await runtime.portForwardUrl(sandbox, wsPorts);
          let close = () => {};
          const handle = { close: () => close() };
          this.sessions.add(handle);
          try {
            await relayWebSocketUpgrade(req, socket, head, target, (c) => (close = c));
          } finally {
            this.sessions.delete(handle);
          }
          return;
        }
        const back = await dialSpdy(await runtime.portForwardUrl(sandbox, ports), [PORT_FORWARD_PROTOCOL]);
        const ws = await this.acceptWebSocket(req, socket, head, PORT_FORWARD_TUNNEL_PROTOCOL, back);
        await this.track(back, bridgeWebSocketTunnel(ws, back));
        return;
      }
      const offered = headerList(req.headers['x-stream-protocol-version']);
      if (offered.length && !offered.includes(PORT_FORWARD_PROTOCOL)) throw new HttpError(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`);
      const back = await dialSpdy(await runtime.portForwardUrl(sandbox, ports), [PORT_FORWARD_PROTOCOL]);
      socket.write(spdyUpgradeResponse(PORT_FORWARD_PROTOCOL));
      await this.track(back, bridgeSpdy(socket, head, back));
      return;
    }

    const container = this.defaultContainer(pod, route.container ?? q.get('container') ?? undefined);
    const opts: StreamOptions = { stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'), tty: boolParam(q, 'tty') };
    if (!opts.stdin && !opts.stdout && !opts.stderr) throw new HttpError(400, 'you must specify at least 1 of stdin, stdout, stderr');
    const containerId = await this.runningContainer(pod, container);
    let backendUrl: () => Promise<string>;
    if (route.kind === 'exec') {
      const command = q.getAll('command');
      if (command.length === 0) throw new HttpError(400, 'you must specify a command');
      if (!runtime.execUrl) throw new HttpError(400, 'exec is not supported by this node');
      backendUrl = () => runtime.execUrl!(containerId, command, opts);
    } else {
      if (!runtime.attachUrl) throw new HttpError(400, 'attach is not supported by this node');
      const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].find((c) => c.name === container);
      // The tty of an attach must be the container's own.
      const tty = !!spec?.tty;
      opts.tty = tty && opts.tty;
      backendUrl = () => runtime.attachUrl!(containerId, { ...opts, tty });
    }

    if (isWebSocket) {
      const offered = headerList(req.headers['sec-websocket-protocol']);
      const protocol = negotiate(offered, [STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4]);
      if (!protocol) throw new HttpError(400, `unable to upgrade: unsupported websocket subprotocols [${offered.join(' ')}], supported [${STREAM_PROTOCOL_V5} ${STREAM_PROTOCOL_V4}]`);
      const back = await dialSpdy(await backendUrl(), [STREAM_PROTOCOL_V4]);
      const ws = await this.acceptWebSocket(req, socket, head, protocol, back);
      await this.track(back, bridgeWebSocketRemoteCommand(ws, protocol, back, opts));
      return;
    }
    const offered = headerList(req.headers['x-stream-protocol-version']);
    let protocol = '';
    if (offered.length) {
      const chosen = negotiate(offered, REMOTE_COMMAND_PROTOCOLS);
      if (!chosen) throw new HttpError(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${REMOTE_COMMAND_PROTOCOLS.join(' ')}]`);
      protocol = chosen;
    }
    const back = await dialSpdy(await backendUrl(), protocol ? [protocol] : []);
    socket.write(spdyUpgradeResponse(back.protocol || protocol || undefined));
    await this.track(back, bridgeSpdy(socket, head, back));
  }

  private acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, back: BackendSession): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 * 1024, handleProtocols: () => protocol });
      try {
        wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
      } catch (err) {
        back.conn.destroy();
        reject(err);
      }
    });
  }

  private async track(back: BackendSession, session: Promise<void>): Promise<void> {
    const handle = { close: () => back.conn.destroy() };
    this.sessions.add(handle);
    try {
      await session;
    } finally {
      this.sessions.delete(handle);
    }
  }
}
