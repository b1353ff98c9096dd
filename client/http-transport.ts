// The API over HTTPS, for everything that runs outside the control-plane process
// (kubelet, proxy, DNS, ingress, the CLI). One keep-alive agent per transport, JSON
// bodies, watches read as a stream of newline-delimited JSON events, and failures
// turned back into the StatusError the server sent.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createSecureContext } from 'node:tls';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import type { Status, StatusDetails } from '../machinery/status.js';
import { defaultUserKubeconfigPath, parseKubeconfig } from '../machinery/kubeconfig.js';
import type {
  ApiObject,
  ApiTransport,
  DeleteOptions,
  ListOptions,
  ListResult,
  PatchOptions,
  PatchType,
  Watch,
  WatchEnd,
  WatchEvent,
  WatchEventType,
  WatchOptions,
  UpdateOptions,
  WriteOptions,
} from './transport.js';
import { ConnectionError } from './transport.js';

/** Where the API server is and how to prove who we are: the parts of a kubeconfig a client needs. */
export interface ClientConfig {
  /** e.g. https://127.0.0.1:6443 (a path prefix is kept). */
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caData?: string;
  /** PEM client certificate and key. */
  certData?: string;
  keyData?: string;
  /** Bearer token (service accounts). */
  token?: string;
  insecureSkipTLSVerify?: boolean;
  /** SNI / certificate name to check instead of the server URL's host. */
  tlsServerName?: string;
  /** The context's namespace, when the kubeconfig names one. */
  namespace?: string;
}

export interface HttpTransportOptions {
  /** `User-Agent: kite-<component>`, and the default field manager. */
  component: string;
  /** Non-watch requests fail after this long (default 60 s). */
  requestTimeoutMs?: number;
  /** Page size informers should list with (default 500, as upstream's pager). */
  pageSize?: number;
}

const CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A StatusError from a `Status` object (an error answer, or a watch ERROR event). */
export function statusErrorFromObject(obj: unknown, fallbackCode = 500): StatusError {
  const s = (obj ?? {}) as Partial<Status>;
  const code = typeof s.code === 'number' && s.code > 0 ? s.code : fallbackCode;
  const err = new StatusError(code, s.reason ?? REASONS[code] ?? 'Unknown', s.message ?? `the server responded with status ${code}`, s.details as StatusDetails | undefined);
  return err;
}

function statusErrorFromBody(code: number, body: Buffer): StatusError {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { kind?: string };
    if (parsed && parsed.kind === 'Status') return statusErrorFromObject(parsed, code);
  } catch {
    /* not JSON */
  }
  return new StatusError(code, REASONS[code] ?? 'Unknown', text.trim() || `the server responded with status ${code}`);
}

function resourcePath(res: ResourceInfo, namespace: string | undefined, name?: string, subresource?: string): string {
  let p = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  if (res.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${res.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function setIf(q: URLSearchParams, key: string, v: string | number | boolean | undefined | null): void {
  if (v === undefined || v === null || v === '') return;
  q.set(key, String(v));
}

function writeQuery(opts: WriteOptions | undefined, component: string): URLSearchParams {
  const q = new URLSearchParams();
  q.set('fieldManager', opts?.fieldManager ?? component);
  if (opts?.dryRun) q.set('dryRun', 'All');
  setIf(q, 'fieldValidation', opts?.fieldValidation);
  return q;
}

interface RawResponse {
  status: number;
  body: Buffer;
}

export class HttpTransport implements ApiTransport {
  readonly component: string;
  readonly preferredPageSize: number;
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly userAgent: string;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly config: ClientConfig,
    opts: HttpTransportOptions,
  ) {
    const url = new URL(config.server);
    if (url.protocol !== 'https:') throw new Error(`server ${config.server}: only https is supported`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port ? Number(url.port) : 443;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.component = opts.component;
    this.userAgent = `kite-${opts.component}`;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.preferredPageSize = opts.pageSize ?? 500;
    this.agent = new Agent({
      keepAlive: true,
      // One context for every connection: given the PEMs instead, each new connection parses
      // them again (~1 ms of CPU each; a kubelet opens dozens in a burst of pod starts).
      secureContext: createSecureContext({ ca: config.caData, cert: config.certData, key: config.keyData }),
      rejectUnauthorized: !config.insecureSkipTLSVerify,
      servername: config.tlsServerName,
    });
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent, ...extra };
    if (this.config.token) h.Authorization = `Bearer ${this.config.token}`;
    return h;
  }

  private fullPath(path: string, query?: URLSearchParams): string {
    const qs = query?.toString();
    return this.basePath + path + (qs ? `?${qs}` : '');
  }

  /** One request, whole body; rejects only when the server can't be reached. */
  private raw(method: string, path: string, query?: URLSearchParams, body?: Buffer, contentType?: string): Promise<RawResponse> {
    const fullPath = this.fullPath(path, query);
    return new Promise((resolve, reject) => {
      const headers = this.headers(body ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': String(body.length) } : {});
      const req = request(
        { agent: this.agent, host: this.host, port: this.port, method, path: fullPath, headers, servername: this.config.tlsServerName },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (err) => reject(this.connectionError(method, fullPath, err)));
        },
      );
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(Object.assign(new Error(`request timed out after ${this.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(this.connectionError(method, fullPath, err)));
      req.end(body);
    });
  }

  private connectionError(method: string, path: string, err: Error): ConnectionError {
    const code = (err as NodeJS.ErrnoException).code;
    return new ConnectionError(`${method} https://${this.host}:${this.port}${path}: ${err.message}`, code, err);
  }

  private async call<T>(method: string, path: string, query?: URLSearchParams, body?: unknown, contentType?: string): Promise<T> {
    let buf: Buffer | undefined;
    if (body !== undefined) buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const res = await this.raw(method, path, query, buf, contentType);
    if (res.status < 200 || res.status >= 300) throw statusErrorFromBody(res.status, res.body);
    if (res.body.length === 0) return {} as T;
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch (err) {
      throw new StatusError(500, 'InternalError', `${method} ${path}: the server sent a body that is not JSON: ${(err as Error).message}`);
    }
  }

  get<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return this.call<T>('GET', resourcePath(res, namespace, name));
  }

  getSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string): Promise<R> {
    return this.call<R>('GET', resourcePath(res, namespace, name, subresource));
  }

  async list<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    const q = new URLSearchParams();
    setIf(q, 'labelSelector', opts.labelSelector);
    setIf(q, 'fieldSelector', opts.fieldSelector);
    setIf(q, 'limit', opts.limit);
    setIf(q, 'continue', opts.continue);
    setIf(q, 'resourceVersion', opts.resourceVersion);
    setIf(q, 'resourceVersionMatch', opts.resourceVersionMatch);
    const list = await this.call<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number } }>('GET', resourcePath(res, namespace), q);
    const out: ListResult<T> = { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    if (list.metadata?.continue) out.continue = list.metadata.continue;
    if (list.metadata?.remainingItemCount !== undefined) out.remainingItemCount = list.metadata.remainingItemCount;
    return out;
  }

  watch<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void): Watch {
    const q = new URLSearchParams({ watch: 'true' });
    setIf(q, 'resourceVersion', opts.resourceVersion);
    setIf(q, 'labelSelector', opts.labelSelector);
    setIf(q, 'fieldSelector', opts.fieldSelector);
    if (opts.allowWatchBookmarks) q.set('allowWatchBookmarks', 'true');
    if (opts.sendInitialEvents) q.set('sendInitialEvents', 'true');
    setIf(q, 'timeoutSeconds', opts.timeoutSeconds);
    const fullPath = this.fullPath(resourcePath(res, namespace), q);

    let ended = false;
    let settle!: (end: WatchEnd) => void;
    const done = new Promise<WatchEnd>((resolve) => (settle = resolve));
    const finish = (end: WatchEnd) => {
      if (ended) return;
      ended = true;
      settle(end);
      // A stream the server finished leaves a reusable connection; anything else is torn down.
      if (end.reason !== 'closed') req.destroy();
    };

    const handleLine = (line: string) => {
      if (line.trim() === '') return;
      let ev: { type?: string; object?: unknown };
      try {
        ev = JSON.parse(line) as { type?: string; object?: unknown };
      } catch (err) {
        finish({ reason: 'error', error: new StatusError(500, 'InternalError', `watch ${res.plural}: undecodable event: ${(err as Error).message}`) });
        return;
      }
      if (ev.type === 'ERROR') {
        finish({ reason: 'error', error: statusErrorFromObject(ev.object) });
        return;
      }
      if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED' && ev.type !== 'BOOKMARK') return;
      try {
        onEvent({ type: ev.type as WatchEventType, object: ev.object as T });
      } catch (err) {
        console.error(`watch ${res.plural}: event handler failed:`, err);
      }
    };

    const onResponse = (resp: IncomingMessage) => {
      if (resp.statusCode !== 200) {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () => finish({ reason: 'error', error: statusErrorFromBody(resp.statusCode ?? 0, Buffer.concat(chunks)) }));
        resp.on('error', (err) => finish({ reason: 'error', error: this.connectionError('GET', fullPath, err) }));
        return;
      }
      // Lines may be split across chunks, and characters across lines' bytes.
      const decoder = new StringDecoder('utf8');
      let buf = '';
      resp.on('data', (chunk: Buffer) => {
        if (ended) return;
        buf += decoder.write(chunk);
        let start = 0;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n', start)) {
          handleLine(buf.slice(start, i));
          start = i + 1;
          if (ended) return;
        }
        buf = start === 0 ? buf : buf.slice(start);
      });
      resp.on('end', () => {
        if (ended) return;
        buf += decoder.end();
        handleLine(buf);
        finish({ reason: 'closed' });
      });
      resp.on('error', (err) => finish({ reason: 'error', error: this.connectionError('GET', fullPath, err) }));
      resp.on('close', () => {
        if (!ended) finish(resp.complete ? { reason: 'closed' } : { reason: 'error', error: this.connectionError('GET', fullPath, new Error('watch stream closed unexpectedly')) });
      });
    };

    const req = request(
      { agent: this.agent, host: this.host, port: this.port, method: 'GET', path: fullPath, headers: this.headers(), servername: this.config.tlsServerName },
      onResponse,
    );
    req.on('error', (err) => finish({ reason: 'error', error: this.connectionError('GET', fullPath, err) }));
    if (opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0) {
      // The server ends the watch at timeoutSeconds; a silent connection well past that is dead.
      req.setTimeout((opts.timeoutSeconds + 30) * 1000, () => finish({ reason: 'error', error: this.connectionError('GET', fullPath, new Error('watch went silent')) }));
    }
    req.end();
    return { stop: () => finish({ reason: 'stopped' }), done };
  }

  create<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    return this.call<T>('POST', resourcePath(res, namespace), writeQuery(opts, this.component), obj);
  }

  update<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: UpdateOptions): Promise<T> {
    return this.call<T>('PUT', resourcePath(res, namespace, requireName(obj), opts?.subresource), writeQuery(opts, this.component), obj);
  }

  updateStatus<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    return this.call<T>('PUT', resourcePath(res, namespace, requireName(obj), 'status'), writeQuery(opts, this.component), obj);
  }

  patch<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: PatchOptions): Promise<T> {
    const q = writeQuery(opts, this.component);
    if (opts?.force !== undefined) q.set('force', String(opts.force));
    return this.call<T>('PATCH', resourcePath(res, namespace, name, opts?.subresource), q, body, CONTENT_TYPES[type]);
  }

  delete(res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    // The members DeleteOptions has on the wire (readOnly is about the answer, in process only); undefined ones are not sent.
    const { gracePeriodSeconds, propagationPolicy, preconditions, orphanDependents, dryRun } = opts;
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds, propagationPolicy, preconditions, orphanDependents, dryRun: dryRun ? ['All'] : undefined };
    return this.call<KubeObject>('DELETE', resourcePath(res, namespace, name), undefined, body);
  }

  createSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: object): Promise<R> {
    return this.call<R>('POST', resourcePath(res, namespace, name, subresource), writeQuery(undefined, this.component), body);
  }

  close(): void {
    this.agent.destroy();
  }
}

function requireName(obj: ApiObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new StatusError(400, 'BadRequest', 'resource name may not be empty');
  return name;
}

// ---- kubeconfig ----------------------------------------------------------------

type Named<K extends string, V> = { name?: string } & { [key in K]?: V };

function pick<V>(list: unknown, name: string, key: 'cluster' | 'user' | 'context', what: string, path: string): V {
  const entries = (Array.isArray(list) ? list : []) as Named<typeof key, V>[];
  const found = entries.find((e) => e && e.name === name);
  if (!found || !found[key]) throw new Error(`${path}: ${what} "${name}" not found`);
  return found[key] as V;
}

function readMaybe(data: unknown, file: unknown, base: string): string | undefined {
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  if (typeof file === 'string' && file !== '') return readFileSync(isAbsolute(file) ? file : join(base, file), 'utf8');
  return undefined;
}

/**
 * Read a kubeconfig file (default: the first file of $KUBECONFIG that exists, else
 * ~/.kube/config) and resolve its current context (or `opts.context`) to a ClientConfig.
 * Certificates may be inline (`*-data`, base64) or file paths (relative to the file).
 */
export function loadKubeconfig(path?: string, opts: { context?: string } = {}): ClientConfig {
  const file = path ?? defaultUserKubeconfigPath();
  const doc = parseKubeconfig(readFileSync(file, 'utf8'), file);
  const base = dirname(file);
  const contextName = opts.context ?? (doc['current-context'] as string | undefined);
  if (!contextName) throw new Error(`${file}: no current-context`);
  const ctx = pick<{ cluster?: string; user?: string; namespace?: string }>(doc.contexts, contextName, 'context', 'context', file);
  const cluster = pick<Record<string, unknown>>(doc.clusters, ctx.cluster ?? '', 'cluster', 'cluster', file);
  const user = ctx.user ? pick<Record<string, unknown>>(doc.users, ctx.user, 'user', 'user', file) : {};
  const server = cluster.server;
  if (typeof server !== 'string' || server === '') throw new Error(`${file}: cluster "${ctx.cluster}" has no server`);
  const out: ClientConfig = { server };
  const ca = readMaybe(cluster['certificate-authority-data'], cluster['certificate-authority'], base);
  if (ca) out.caData = ca;
  if (cluster['insecure-skip-tls-verify'] === true) out.insecureSkipTLSVerify = true;
  if (typeof cluster['tls-server-name'] === 'string') out.tlsServerName = cluster['tls-server-name'];
  const cert = readMaybe(user['client-certificate-data'], user['client-certificate'], base);
  const key = readMaybe(user['client-key-data'], user['client-key'], base);
  if (cert) out.certData = cert;
  if (key) out.keyData = key;
  if (typeof user.token === 'string' && user.token !== '') out.token = user.token;
  else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
    out.token = readFileSync(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile), 'utf8').trim();
  }
  if (ctx.namespace) out.namespace = ctx.namespace;
  return out;
}
