// The API server's HTTP side (upstream: apiserver/pkg/endpoints/handlers): one
// straight path per request — authenticate, route, decode, call the registry,
// encode. Every resource shares the same handlers; streaming subresources (log,
// exec, attach, portforward, proxy) route through `connect` hooks that the kubelet
// and proxy work will register.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../machinery/object.js';
import { isPlainObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf, resourcesGeneration } from '../machinery/resources.js';
import type { Status } from '../machinery/status.js';
import {
  StatusError,
  badRequest,
  methodNotAllowed,
  notAcceptable,
  notFound,
  notImplemented,
  requestEntityTooLarge,
  toStatus,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from '../machinery/status.js';
import type { FieldValidation, RequestContext, UserInfo } from './context.js';
import type { ResourceRequest } from './request.js';
import { parseResourcePath } from './request.js';
import type { DeleteOptions, WatchEventType } from './registry.js';
import type { RequestPipeline, CallResult } from './pipeline.js';
import { connectVerb } from './pipeline.js';
import type { Authenticator } from './authentication.js';
import { impersonate } from './authentication.js';
import { queryBool, queryInt } from './request.js';
import { goJsonSyntaxError, unrecognizedObject } from './decode-errors.js';
import { jsonTypeWord } from './patch/gojson.js';
import { aggregatedAccept, aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions, extraApiGroupDoc } from './discovery.js';
import type { Aggregator } from './aggregator.js';
import { aggregatedRequestAttributes } from './aggregator.js';
import { patchTypeOf } from './patching.js';
import { buildTable } from './printers/index.js';
import { serveOpenApi } from './openapi/index.js';
import { decodeKubernetesProtobuf } from './protobuf/index.js';
import { checkJsonDepth } from './bodylimits.js';
import type { CachedEvent } from './watchcache.js';
import { sharedEncoding, storedAnswer } from './watchcache.js';
import { PROMETHEUS_CONTENT_TYPE, defaultRegistry } from '../machinery/metrics.js';
import { requestMetrics, type TrackedRequest } from './metrics/request-metrics.js';

/** Upstream's limit for request bodies (3 MiB). */
const MAX_BODY = 3 * 1024 * 1024;
/** Alias expansions a YAML body may make (billion-laughs bound). */
const MAX_YAML_ALIASES = 100;
/** Watches without timeoutSeconds stay open this long (upstream: 30–60 min). */
const DEFAULT_WATCH_SECONDS = 1800;
const BOOKMARK_INTERVAL_MS = 60_000;
/** Bytes a watch response may have queued unsent before the watcher is closed. */
const MAX_WATCH_BACKLOG = 8 * 1024 * 1024;
/** Bytes of initial watch events written ahead of the client before waiting for it to read. */
const WATCH_INITIAL_IN_FLIGHT = 1024 * 1024;
/** Lists longer than this are streamed, this many items at a time. */
const STREAM_LIST_CHUNK = 500;

export const KUBERNETES_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-kite',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-21T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface ConnectRequest {
  req: IncomingMessage;
  /** Set for plain requests. */
  res?: ServerResponse;
  /** Set for protocol upgrades (SPDY, WebSocket): the raw client socket. */
  upgrade?: { socket: Duplex; head: Buffer };
  request: ResourceRequest;
  query: URLSearchParams;
  user: UserInfo;
  /** The object the subresource belongs to. */
  object: KubeObject;
}

export type ConnectHandler = (c: ConnectRequest) => Promise<void> | void;

export interface ApiServerOptions {
  /** authorize → admission → storage, shared with the in-process transport. */
  pipeline: RequestPipeline;
  authenticator: Authenticator;
  /** host:port clients use, for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  isReady?: () => boolean;
  /** Upstream's --max-requests-inflight (400) and --max-mutating-requests-inflight (200). */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  /** Bytes a watch response may have queued unsent before the watcher is closed. */
  maxWatchBacklogBytes?: number;
  /** Proxies group/versions of APIServices with a `spec.service` to their servers. */
  aggregator?: Aggregator;
}

/**
 * A plain request target: an absolute path (no leading `//`) and a query of URL code
 * points that need no encoding, the query not starting with another `?` (which
 * URLSearchParams would drop); splitTarget also wants no dot segment, plain or encoded.
 */
const PLAIN_TARGET = /^\/(?!\/)[\w\-.~!$&'()*+,;=:@%/]*(?:\?(?!\?)[\w\-.~!$&'()*+,;=:@%/?]*)?$/;

/**
 * The path and query of a request target, as WHATWG URL parsing gives them. A plain
 * target (nearly every request) needs no normalization, so splitting it at `?` is the
 * same and cheaper than a URL parse.
 */
export function splitTarget(target: string): { path: string; query: URLSearchParams } {
  if (PLAIN_TARGET.test(target)) {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    if (!path.includes('/.') && !/%2e/i.test(path)) return { path, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
  }
  const url = new URL(target, 'https://localhost');
  return { path: url.pathname, query: url.searchParams };
}

/**
 * A path's non-empty segments, percent-decoded: only those with a `%` go through
 * decodeURIComponent (which gives any other back as it is, at the cost of a call into
 * the runtime per segment).
 */
export function pathSegments(path: string): string[] {
  const segments: string[] = [];
  // Cut at each '/' by indexOf: split's array of every piece, empty ones too, costs twice as much.
  for (let from = 0; from < path.length; ) {
    let to = path.indexOf('/', from);
    if (to < 0) to = path.length;
    if (to > from) {
      const s = path.slice(from, to);
      segments.push(s.includes('%') ? decodeURIComponent(s) : s);
    }
    from = to + 1;
  }
  return segments;
}

/** Which in-flight limit a request counts against; undefined for long-running ones. */
function inflightKind(req: IncomingMessage): 'mutating' | 'readonly' | undefined {
  const url = req.url ?? '/';
  if (url.startsWith('/healthz') || url.startsWith('/livez') || url.startsWith('/readyz')) return undefined;
  if (/[?&]watch=(1|t|T|TRUE|true|True)(&|$)/.test(url) || url.includes('/watch/')) return undefined;
  if (/\/(exec|attach|portforward|proxy|log)(\?|\/|$)/.test(url)) return undefined;
  const m = req.method ?? 'GET';
  return m === 'GET' || m === 'HEAD' || m === 'OPTIONS' ? 'readonly' : 'mutating';
}

/**
 * Every JSON body ends with a newline, as upstream's encoder (json.Encoder.Encode) writes
 * it. A create's answer is the stored bytes with its resourceVersion (storedAnswer); a
 * `shared` body (a watch cache object, see CallResult.shared) is written from the text
 * kept with it (sharedEncoding); anything else is encoded here.
 */
function send(res: ServerResponse, code: number, body: unknown, ctx?: { warnings: string[] }, contentType = 'application/json', shared = false): void {
  const stored = storedAnswer(body);
  let payload: string | Buffer;
  let bytes: number;
  if (stored) {
    payload = stored;
    bytes = stored.length;
  } else if (shared) {
    const e = sharedEncoding(body as KubeObject);
    payload = e.json + '\n';
    bytes = (e.bytes ??= Buffer.byteLength(e.json)) + 1;
  } else {
    payload = JSON.stringify(body) + '\n';
    bytes = Buffer.byteLength(payload);
  }
  // Name and value pairs in one flat array: Node takes them without walking an object.
  const headers = ['Content-Type', contentType, 'Content-Length', String(bytes), 'Cache-Control', 'no-cache, private'];
  if (ctx?.warnings.length) for (const w of new Set(ctx.warnings)) headers.push('Warning', `299 - ${asciiQuoted(w)}`);
  res.writeHead(code, headers);
  res.end(payload);
}

/** A non-API document (/version, /): indented and without the final newline, as upstream's WriteRawJSON writes it. */
function sendRawJson(res: ServerResponse, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body, null, 2));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': payload.length, 'Cache-Control': 'no-cache, private' });
  res.end(payload);
}

/** A quoted header value: non-ASCII escaped, since header values must be ASCII/Latin-1. */
function asciiQuoted(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, status.code, status);
}

/**
 * The request body, up to MAX_BODY. A larger body is answered 413: the rest is left for
 * Node to read and discard after the response, so the client sees the Status rather
 * than a reset connection.
 */
function readBody(req: IncomingMessage): Promise<Buffer> | Buffer {
  // All of the body the request declared is parsed already (a small one comes in the same
  // read as the headers, and the parser has taken it in once anything awaited runs): taken
  // from the stream's buffer at once, without listeners, a promise and 'data' events.
  const declared = Number(req.headers['content-length']);
  if (declared > 0 && declared <= MAX_BODY && req.readableLength === declared && !req.readableFlowing && !req.readableDidRead) {
    const first = req.read() as Buffer;
    const rest = req.read() as Buffer | null;
    // The stream still ends as every other request's does ('end', then 'close'), as it is read to its end.
    req.resume();
    return rest === null ? first : Buffer.concat([first, rest]);
  }
  return new Promise((resolve, reject) => {
    if (declared > MAX_BODY) {
      reject(requestEntityTooLarge(MAX_BODY));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.off('data', onData);
        chunks.length = 0;
        reject(requestEntityTooLarge(MAX_BODY));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    // A body in one chunk (most) is that chunk: the parser hands each chunk over as a buffer of its own.
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Decode a create/update body: JSON, YAML or Kubernetes protobuf. */
export function decodeObject(contentType: string | undefined, body: Buffer): KubeObject {
  // kubectl's and client-go's JSON content type as sent needs no parsing.
  const ct = contentType === 'application/json' ? contentType : (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  let obj: unknown;
  if (ct === 'application/vnd.kubernetes.protobuf') {
    const decoded = decodeKubernetesProtobuf(body);
    obj = { apiVersion: decoded.apiVersion, kind: decoded.kind, ...decoded.object };
  } else if (ct === 'application/json' || ct === '' || ct === '*/*') {
    checkJsonDepth(body);
    try {
      obj = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw badRequest(`Object 'Kind' is missing in '${body.toString('utf8').slice(0, 200)}': ${(err as Error).message}`);
    }
  } else if (ct === 'application/yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') {
    checkJsonDepth(body);
    try {
      obj = parseYaml(body.toString('utf8'), { maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      throw badRequest(`error converting YAML to JSON: ${(err as Error).message}`);
    }
  } else {
    throw unsupportedMediaType(contentType ?? '');
  }
  if (!isPlainObject(obj)) throw badRequest('the body of the request must be a JSON object');
  return obj as KubeObject;
}

/**
 * A create/update body for `res`. JSON that does not parse is reported as upstream's
 * handler reports it for that kind; the Go-worded scan runs only after a failure.
 */
function decodeBodyFor(res: ResourceInfo, contentType: string | undefined, body: Buffer): KubeObject {
  // Too deep to parse at all: that answer stands (the Go-worded scan would recurse as deep).
  checkJsonDepth(body);
  try {
    return decodeObject(contentType, body);
  } catch (err) {
    const ct = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json' && ct !== '' && ct !== '*/*') throw err;
    const text = body.toString('utf8');
    let why = goJsonSyntaxError(text);
    if (!why && !text.trim().startsWith('{')) {
      try {
        why = `json: cannot unmarshal ${jsonTypeWord(JSON.parse(text))} into Go value of type ${META_FACTORY_TYPE}`;
      } catch {
        // not JSON after all: the original error stands
      }
    }
    if (why) throw unrecognizedObject(res, `couldn't get version/kind; json parse error: ${why}`, body);
    throw err;
  }
}

/** The Go type upstream's SimpleMetaFactory decodes a body into to find its kind. */
const META_FACTORY_TYPE = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

interface TableAccept {
  apiVersion: string;
  contentType: string;
}

function tableAccept(accept: string | undefined): TableAccept | undefined {
  if (!accept || !accept.includes('as=Table')) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((kv) => kv.trim().split('=') as [string, string]),
    );
    if (params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io') {
      const v = params.get('v') === 'v1beta1' ? 'v1beta1' : 'v1';
      return { apiVersion: `meta.k8s.io/${v}`, contentType: `application/json;as=Table;v=${v};g=meta.k8s.io` };
    }
  }
  return undefined;
}

function wantsPartialMetadata(accept: string | undefined): boolean {
  return !!accept && accept.includes('as=PartialObjectMetadata');
}

function acceptsJson(accept: string | undefined): boolean {
  // What clients send nearly always (client-go: `application/json, */*`), answered without splitting.
  if (!accept || accept === 'application/json' || accept === 'application/json, */*' || accept === '*/*') return true;
  return accept.split(',').some((p) => {
    const t = p.split(';')[0].trim();
    return t === 'application/json' || t === '*/*' || t === 'application/*' || t === 'application/yaml';
  });
}

function parseFieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (!v) return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw badRequest(`fieldValidation must be one of Ignore, Warn, or Strict; got ${v}`);
}

function parseDryRun(q: URLSearchParams, body?: { dryRun?: string[] }): boolean {
  // Most requests have no query at all.
  if (q.size === 0 && body?.dryRun === undefined) return false;
  const values = [...q.getAll('dryRun'), ...(body?.dryRun ?? [])];
  for (const v of values) {
    if (v !== 'All') throw badRequest(`Invalid value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

export class ApiServer {
  private readonly pipeline: RequestPipeline;
  private readonly connectHandlers = new Map<string, ConnectHandler>();
  private readonly activeWatches = new Set<ServerResponse>();
  private readonly discoveryCache = new Map<string, Buffer>();
  private discoveryGeneration = '';

  private readonly inflight = { mutating: 0, readonly: 0 };
  /** A request's end in the in-flight counts (made once, not a closure per request). */
  private readonly endMutating = (): void => void this.inflight.mutating--;
  private readonly endReadonly = (): void => void this.inflight.readonly--;
  private readonly maxMutatingInflight: number;
  private readonly maxReadOnlyInflight: number;
  private readonly maxWatchBacklog: number;
  private readonly stopInflightMetrics: () => void;

  constructor(private readonly opts: ApiServerOptions) {
    this.pipeline = opts.pipeline;
    this.maxMutatingInflight = opts.maxMutatingRequestsInflight ?? 200;
    this.maxReadOnlyInflight = opts.maxRequestsInflight ?? 400;
    this.maxWatchBacklog = opts.maxWatchBacklogBytes ?? MAX_WATCH_BACKLOG;
    this.stopInflightMetrics = requestMetrics.inflightFrom(() => this.inflight);
  }

  /** Register the handler for a streaming subresource, e.g. `pods/exec`. */
  onConnect(resourceAndSub: string, handler: ConnectHandler): void {
    this.connectHandlers.set(resourceAndSub, handler);
  }

  closeWatches(): void {
    for (const w of this.activeWatches) w.end();
    this.activeWatches.clear();
  }

  /** End every watch and leave the process-wide metrics registry: the server is done. */
  close(): void {
    this.closeWatches();
    this.stopInflightMetrics();
  }

  /**
   * The caller's identity after impersonation, or a 401/403 StatusError; a promise only
   * while a token is checked (a client certificate's user is known at once).
   */
  private user(req: IncomingMessage): UserInfo | Promise<UserInfo> {
    const caller = this.opts.authenticator.authenticate(req);
    if (caller instanceof Promise) return caller.then((c) => this.impersonated(req, c));
    return this.impersonated(req, caller);
  }

  private impersonated(req: IncomingMessage, caller: UserInfo | undefined): UserInfo {
    if (!caller) throw unauthorized();
    return impersonate(req, caller, (a) => this.pipeline.authorize(a));
  }

  /** The request handler to mount on an https.Server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const tracked = requestMetrics.track(req, res);
    // Upstream's max-in-flight filter: short requests beyond the limit get 429 at once;
    // watches and streams (long-running) and health checks are not counted.
    const kind = inflightKind(req);
    if (kind) {
      const limit = kind === 'mutating' ? this.maxMutatingInflight : this.maxReadOnlyInflight;
      if (this.inflight[kind] >= limit) {
        res.setHeader('Retry-After', '1');
        sendStatus(res, tooManyRequests('Too many requests, please try again later.').status);
        return;
      }
      this.inflight[kind]++;
      tracked.onEnd = kind === 'mutating' ? this.endMutating : this.endReadonly;
    }
    // dispatch answers at once what needs no waiting, and returns a promise otherwise.
    let pending: Promise<void> | void;
    try {
      pending = this.dispatch(req, res, tracked);
    } catch (err) {
      this.failed(req, res, err);
      return;
    }
    if (pending) pending.catch((err: unknown) => this.failed(req, res, err));
  };

  private failed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (!(err instanceof StatusError)) console.error('apiserver: request failed:', req.method, req.url, err);
    sendStatus(res, toStatus(err));
  }

  /** The 'upgrade' handler to mount on the https.Server (exec, attach, port-forward). */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const fail = (err: unknown) => {
      const status = toStatus(err);
      if (!(err instanceof StatusError)) console.error('apiserver: upgrade failed:', req.method, req.url, err);
      const body = JSON.stringify(status) + '\n';
      socket.end(`HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    socket.on('error', () => socket.destroy());
    (async () => {
      const user = await this.user(req);
      const url = new URL(req.url ?? '/', 'https://localhost');
      const segments = pathSegments(url.pathname);
      const r = parseResourcePath(req.method ?? 'GET', segments, url.searchParams);
      if (!r || r.verb !== 'connect') throw new StatusError(400, 'BadRequest', 'upgrade is only supported for exec, attach, portforward and proxy');
      const handler = this.connectHandlers.get(`${r.resource.plural}/${r.subresource}`);
      if (!handler) throw notImplemented(`${r.resource.plural}/${r.subresource} is not supported by this server yet`);
      const object = this.authorizeConnect(req, r, user, true);
      await handler({ req, upgrade: { socket, head }, request: r, query: url.searchParams, user, object });
    })().catch(fail);
  };

  /**
   * Authorize a streaming subresource. The verb follows the HTTP method; a WebSocket
   * upgrade (a GET) of exec, attach or portforward also needs `create`, as upstream
   * checks since 1.30, so a read-only role can't open a shell.
   */
  private authorizeConnect(req: IncomingMessage, r: ResourceRequest, user: UserInfo, upgrade: boolean): KubeObject {
    const verbs = [connectVerb(req.method ?? 'GET')];
    if (upgrade && r.subresource !== 'proxy' && !verbs.includes('create')) verbs.push('create');
    const objectName = r.subresource === 'proxy' ? parseProxyName(r.name!).name : r.name!;
    return this.pipeline.connect({ ...this.context(req, new URLSearchParams(), user, false) }, verbs, r.resource, r.namespace, r.name!, r.subresource!, objectName);
  }

  /** Not an async function: a request whose caller is known at once goes on to its handler without a turn of the microtask queue. */
  private dispatch(req: IncomingMessage, res: ServerResponse, tracked: TrackedRequest): Promise<void> | void {
    const { path, query } = splitTarget(req.url ?? '/');

    if (path === '/healthz' || path === '/livez' || path === '/readyz' || path.startsWith('/healthz/') || path.startsWith('/livez/') || path.startsWith('/readyz/')) {
      const ready = path.startsWith('/readyz') ? (this.opts.isReady?.() ?? true) : true;
      res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(ready ? 'ok' : 'not ready');
      return;
    }

    const authenticated = this.user(req);
    if (authenticated instanceof Promise) return authenticated.then((user) => this.route(req, res, tracked, path, query, user));
    return this.route(req, res, tracked, path, query, authenticated);
  }

  private route(req: IncomingMessage, res: ServerResponse, tracked: TrackedRequest, path: string, query: URLSearchParams, user: UserInfo): Promise<void> | void {
    const segments = pathSegments(path);
    const remote = segments[0] === 'apis' && segments.length >= 3 ? this.opts.aggregator?.target(segments[1], segments[2]) : undefined;
    if (remote) {
      // Authorized here, in the one pipeline, as upstream's handler chain does before the
      // aggregator proxies; the aggregated server may check again with the X-Remote-* identity.
      const a = aggregatedRequestAttributes(req.method ?? 'GET', segments, query);
      if (!a) this.pipeline.authorizePath(user, req.method ?? 'GET', path);
      else this.pipeline.authorize({ user, resourceRequest: true, path, apiGroup: remote.group, apiVersion: remote.version, ...a });
      return this.opts.aggregator!.proxy(req, res, user, remote, req.url ?? path);
    }
    const request = (segments[0] === 'api' || segments[0] === 'apis') && !isDiscoveryPath(segments) ? parseResourcePath(req.method ?? 'GET', segments, query) : undefined;
    if (request) requestMetrics.resolved(tracked, request, query);
    if (!request) this.pipeline.authorizePath(user, req.method ?? 'GET', path);
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = defaultRegistry.render();
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }

    if (path === '/version' || path === '/version/') {
      sendRawJson(res, KUBERNETES_VERSION);
      return;
    }
    if (path.startsWith('/openapi/') || path === '/swagger-2.0.0.pb-v1' || path === '/swagger.json') {
      if (serveOpenApi(req, res, path, query)) return;
      throw notFound('', '', path);
    }
    if (segments[0] !== 'api' && segments[0] !== 'apis') {
      if (path === '/') {
        sendRawJson(res, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/metrics', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
        return;
      }
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (!request) {
      if (this.serveDiscovery(req, res, segments)) return;
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    return this.serveResource(req, res, request, query, user);
  }

  private sendCached(res: ServerResponse, key: string, contentType: string, build: () => object | undefined): boolean {
    // Custom resources come and go: the documents are rebuilt after every change.
    const generation = `${resourcesGeneration()}:${this.opts.aggregator?.generation ?? 0}`;
    if (this.discoveryGeneration !== generation) {
      this.discoveryCache.clear();
      this.discoveryGeneration = generation;
    }
    let body = this.discoveryCache.get(key);
    if (!body) {
      const doc = build();
      if (!doc) return false;
      body = Buffer.from(JSON.stringify(doc) + '\n');
      this.discoveryCache.set(key, body);
    }
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.length, 'Cache-Control': 'no-cache, private' });
    res.end(body);
    return true;
  }

  private serveDiscovery(req: IncomingMessage, res: ServerResponse, segments: string[]): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const accept = req.headers.accept;
    const n = segments.length;
    if (n === 1) {
      const legacy = segments[0] === 'api';
      const agg = aggregatedAccept(accept);
      const extra = () => this.opts.aggregator?.groups() ?? [];
      if (agg) return this.sendCached(res, `agg:${legacy}:${agg.version}`, agg.contentType, () => aggregatedDiscovery(legacy, agg.version, extra()));
      if (legacy) return this.sendCached(res, 'api', 'application/json', () => apiVersions(this.opts.serverAddress));
      return this.sendCached(res, 'apis', 'application/json', () => apiGroupList(extra()));
    }
    if (segments[0] === 'api' && n === 2) {
      return this.sendCached(res, `api/${segments[1]}`, 'application/json', () => apiResourceList('', segments[1]));
    }
    if (segments[0] === 'apis' && n === 2) {
      return this.sendCached(res, `apis/${segments[1]}`, 'application/json', () => {
        const local = apiGroupDoc(segments[1]);
        if (local) return local;
        const remote = this.opts.aggregator?.groups().find((g) => g.name === segments[1]);
        return remote && extraApiGroupDoc(remote);
      });
    }
    if (segments[0] === 'apis' && n === 3) {
      return this.sendCached(res, `apis/${segments[1]}/${segments[2]}`, 'application/json', () => apiResourceList(segments[1], segments[2]));
    }
    return false;
  }

  private context(req: IncomingMessage, query: URLSearchParams, user: UserInfo, dryRun: boolean): RequestContext {
    const noQuery = query.size === 0;
    return {
      user,
      dryRun,
      fieldManager: noQuery ? undefined : (query.get('fieldManager') ?? undefined),
      fieldValidation: noQuery ? 'Warn' : parseFieldValidation(query),
      userAgent: req.headers['user-agent'],
      warnings: [],
    };
  }

  private respondObject(req: IncomingMessage, res: ServerResponse, code: number, res_: ResourceInfo, obj: KubeObject, ctx?: RequestContext, query?: URLSearchParams, shared?: boolean): void {
    const table = tableAccept(req.headers.accept);
    if (table && obj.kind !== 'Status') {
      const t = buildTable(res_.group, res_.kind, [obj], {
        now: Date.now(),
        includeObject: (query?.get('includeObject') as 'None' | 'Metadata' | 'Object') || 'Metadata',
        listMeta: { resourceVersion: obj.metadata?.resourceVersion },
      });
      send(res, code, { ...t, apiVersion: table.apiVersion }, ctx, table.contentType);
      return;
    }
    if (!acceptsJson(req.headers.accept) && !table && !wantsPartialMetadata(req.headers.accept) && !(req.headers.accept ?? '').includes('protobuf')) {
      throw notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    }
    if (wantsPartialMetadata(req.headers.accept) && obj.kind !== 'Status') {
      send(res, code, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata }, ctx);
      return;
    }
    send(res, code, obj, ctx, undefined, shared);
  }

  private serveResource(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const resource = r.resource;
    if (!resource.verbs.includes(r.verb) && !r.subresource) throw methodNotAllowed();
    if (resource.virtual && r.verb !== 'create') throw methodNotAllowed();
    // Creates (the most frequent write) have a handler of their own: a smaller async frame.
    return r.verb === 'create' ? this.serveCreate(req, res, r, query, user) : this.serveVerb(req, res, r, query, user);
  }

  private async serveCreate(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    // One microtask first lets the parser take in the rest of the read that brought the
    // headers (all of a small body), which readBody then finds there.
    if (!req.complete) await Promise.resolve();
    // Awaited only when it is a promise: each await is a turn of the microtask queue.
    const raw = readBody(req);
    const body = decodeBodyFor(r.resource, req.headers['content-type'], raw instanceof Promise ? await raw : raw);
    const ctx = this.context(req, query, user, parseDryRun(query));
    this.respond(req, res, r.resource, await this.pipeline.create(ctx, r.resource, r.namespace, body, r.name, r.subresource), ctx);
  }

  private async serveVerb(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const p = this.pipeline;
    const resource = r.resource;
    // A write reads its body: one microtask first lets the parser take in the rest of the
    // read that brought the headers (all of a small body), which readBody then finds there.
    if (!req.complete && r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch' && r.verb !== 'connect') await Promise.resolve();
    switch (r.verb) {
      case 'get': {
        if (r.subresource === 'log') return this.serveConnect(req, res, r, query, user);
        const ctx = this.context(req, query, user, false);
        return this.respond(req, res, resource, await p.get(ctx, resource, r.namespace, r.name!, r.subresource), undefined, query);
      }
      case 'list':
        return this.serveList(req, res, r, query, user);
      case 'watch':
        return this.serveWatch(req, res, r, query, user);
      case 'connect':
        return this.serveConnect(req, res, r, query, user);
      case 'update': {
        // Awaited only when it is a promise: each await is a turn of the microtask queue.
        const raw = readBody(req);
        const body = decodeBodyFor(resource, req.headers['content-type'], raw instanceof Promise ? await raw : raw);
        const ctx = this.context(req, query, user, parseDryRun(query));
        return this.respond(req, res, resource, await p.update(ctx, resource, r.namespace, r.name!, body, r.subresource), ctx);
      }
      case 'patch': {
        const type = patchTypeOf(req.headers['content-type']);
        const body = await readBody(req);
        const force = queryBool(query, 'force') === true;
        if (query.has('force') && type !== 'apply') throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        const ctx = { ...this.context(req, query, user, parseDryRun(query)), force };
        return this.respond(req, res, resource, await p.patch(ctx, resource, r.namespace, r.name!, type, body, r.subresource), ctx);
      }
      case 'delete': {
        const body = await readBody(req);
        const opts = this.deleteOptions(req, query, body);
        const ctx = this.context(req, query, user, parseDryRun(query, opts as { dryRun?: string[] }));
        return this.respond(req, res, resource, await p.delete(ctx, resource, r.namespace, r.name!, opts), ctx);
      }
      case 'deletecollection': {
        const body = await readBody(req);
        const opts = this.deleteOptions(req, query, body);
        const ctx = this.context(req, query, user, parseDryRun(query, opts as { dryRun?: string[] }));
        const out = await p.deleteCollection(ctx, resource, r.namespace, { labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector') }, opts);
        send(res, 200, { kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: out.resourceVersion }, items: out.items }, ctx);
        return;
      }
    }
  }

  /** A routed call's answer: the object (as a Table when asked) or the subresource's body as it is. */
  private respond(req: IncomingMessage, res: ServerResponse, resource: ResourceInfo, out: CallResult, ctx?: RequestContext, query?: URLSearchParams): void {
    if (out.isObject) return this.respondObject(req, res, out.code, resource, out.body as KubeObject, ctx, query, out.shared);
    send(res, out.code, out.body, ctx);
  }

  private deleteOptions(req: IncomingMessage, query: URLSearchParams, body: Buffer): DeleteOptions {
    let opts: DeleteOptions & { dryRun?: string[] } = {};
    if (body.length > 0) {
      const decoded = decodeObject(req.headers['content-type'], body) as DeleteOptions & { kind?: string };
      opts = { ...decoded };
    }
    const grace = queryInt(query, 'gracePeriodSeconds');
    if (grace !== undefined) opts.gracePeriodSeconds = grace;
    const pp = query.get('propagationPolicy');
    if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
    if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
      throw badRequest(`propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`);
    }
    const orphan = queryBool(query, 'orphanDependents');
    if (orphan !== undefined) opts.orphanDependents = orphan;
    return opts;
  }

  private async serveConnect(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const handler = this.connectHandlers.get(`${r.resource.plural}/${r.subresource}`);
    if (!handler) throw notImplemented(`${r.resource.plural}/${r.subresource} is not supported by this server yet`);
    const object = this.authorizeConnect(req, r, user, false);
    await handler({ req, res, request: r, query, user, object });
  }

  private async serveList(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const resource = r.resource;
    const out = await this.pipeline.list(this.context(req, query, user, false), resource, r.namespace, {
      labelSelector: query.get('labelSelector'),
      fieldSelector: query.get('fieldSelector'),
      limit: queryInt(query, 'limit'),
      continue: query.get('continue'),
      resourceVersion: query.get('resourceVersion'),
      resourceVersionMatch: query.get('resourceVersionMatch'),
    });
    const listMeta: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: out.resourceVersion };
    if (out.continue) listMeta.continue = out.continue;
    if (out.remainingItemCount !== undefined) listMeta.remainingItemCount = out.remainingItemCount;
    const table = tableAccept(req.headers.accept);
    if (table) {
      const t = buildTable(resource.group, resource.kind, out.items, {
        now: Date.now(),
        includeObject: (query.get('includeObject') as 'None' | 'Metadata' | 'Object') || 'Metadata',
        listMeta,
      });
      send(res, 200, { ...t, apiVersion: table.apiVersion }, undefined, table.contentType);
      return;
    }
    if (wantsPartialMetadata(req.headers.accept)) {
      send(res, 200, {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: listMeta,
        items: out.items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
      });
      return;
    }
    // Items are serialized as stored; the list wrapper is small, so build the JSON by hand
    // instead of copying every item into a new object.
    const head = JSON.stringify({ kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata: listMeta });
    // The cache's own objects keep their text once encoded (sharedEncoding): a list read again encodes only what changed.
    const encode = out.shared ? (o: KubeObject) => sharedEncoding(o).json : (o: KubeObject) => JSON.stringify(o);
    if (out.items.length <= STREAM_LIST_CHUNK) {
      const body = Buffer.from(`${head.slice(0, -1)},"items":[${out.items.map(encode).join(',')}]}\n`);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-cache, private' });
      res.end(body);
      return;
    }
    // A large list is encoded a chunk at a time, yielding between chunks and waiting for
    // the client to take what was written, so one huge list neither holds the event loop
    // nor piles its whole encoding up in memory.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.write(`${head.slice(0, -1)},"items":[`);
    for (let i = 0; i < out.items.length; i += STREAM_LIST_CHUNK) {
      if (res.destroyed) return;
      const part = out.items.slice(i, i + STREAM_LIST_CHUNK).map(encode).join(',');
      const more = res.write(i === 0 ? part : `,${part}`);
      if (!more) {
        // Wait for the client to take the chunk; each listener goes once either fires, so a
        // long list's many waits don't pile up 'close' listeners on the response.
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      } else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    res.end(']}\n');
  }

  private serveWatch(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, query: URLSearchParams, user: UserInfo): void {
    const resource = r.resource;
    const table = tableAccept(req.headers.accept);
    const includeObject = (query.get('includeObject') as 'None' | 'Metadata' | 'Object') || 'Metadata';
    const bookmarks = queryBool(query, 'allowWatchBookmarks') === true;
    const timeout = queryInt(query, 'timeoutSeconds') ?? DEFAULT_WATCH_SECONDS;
    let fieldSelector = query.get('fieldSelector');
    if (r.name) fieldSelector = [fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(',');
    const sendInitialEvents = queryBool(query, 'sendInitialEvents') === true;
    let firstTable = true;
    const kindMeta = { kind: resource.kind, apiVersion: apiVersionOf(resource) };
    const write = (line: string) => {
      if (res.destroyed || res.writableEnded) return;
      // A watcher that doesn't read is closed once its backlog passes the bound (upstream's
      // cacher closes a watcher whose buffer is full); the client rewatches from its last
      // resourceVersion, and the server's memory stays bounded.
      if (res.writableLength > this.maxWatchBacklog) {
        res.destroy();
        return;
      }
      res.write(line + '\n');
    };
    let started = false;
    const pending: string[] = [];
    const emit = (type: WatchEventType, obj: KubeObject, shared?: CachedEvent) => {
      let line: string;
      if (table && type !== 'BOOKMARK') {
        const t = buildTable(resource.group, resource.kind, [obj], { now: Date.now(), includeObject, listMeta: { resourceVersion: obj.metadata?.resourceVersion } });
        const tbl: Record<string, unknown> = { ...t, apiVersion: table.apiVersion };
        if (!firstTable) tbl.columnDefinitions = [];
        firstTable = false;
        line = `{"type":"${type}","object":${JSON.stringify(tbl)}}`;
      } else if (shared) {
        shared.json ??= JSON.stringify(withTypeMeta(shared.object, kindMeta));
        line = `{"type":"${type}","object":${shared.json}}`;
      } else {
        line = `{"type":"${type}","object":${JSON.stringify(withTypeMeta(obj, kindMeta))}}`;
      }
      if (started) write(line);
      else pending.push(line);
    };
    const handle = this.pipeline.watch(
      this.context(req, query, user, false),
      resource,
      r.namespace,
      {
        labelSelector: query.get('labelSelector'),
        fieldSelector,
        resourceVersion: query.get('resourceVersion'),
        allowWatchBookmarks: bookmarks,
        sendInitialEvents,
      },
      {
        event: emit,
        // Initial events go out as the client takes them (a bounded amount in flight).
        drained: () =>
          // Before the headers, events wait in `pending`: let them go out first.
          !started
            ? new Promise<void>((resolve) => setImmediate(resolve))
            : res.destroyed || res.writableLength <= WATCH_INITIAL_IN_FLIGHT
            ? undefined
            : new Promise<void>((resolve) => {
                const done = () => {
                  res.off('drain', done);
                  res.off('close', done);
                  resolve();
                };
                res.once('drain', done);
                res.once('close', done);
              }),
      },
    );
    res.writeHead(200, {
      'Content-Type': table ? table.contentType : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    started = true;
    for (const l of pending) write(l);
    let initialPending = !!handle.initialDone;
    const bookmark = () => {
      if (initialPending) return;
      const rv = String(handle.revision());
      const meta: Record<string, unknown> = { resourceVersion: rv };
      write(`{"type":"BOOKMARK","object":${JSON.stringify({ ...kindMeta, metadata: meta })}}`);
    };
    const initialEventsEnd = () => {
      initialPending = false;
      if (!bookmarks || !sendInitialEvents) return;
      const rv = String(handle.revision());
      write(`{"type":"BOOKMARK","object":${JSON.stringify({ ...kindMeta, metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } } })}}`);
    };
    if (handle.initialDone) {
      handle.initialDone.then(initialEventsEnd, (err: unknown) => {
        console.error('watch: initial events failed:', err);
        res.destroy();
      });
    } else initialEventsEnd();
    this.activeWatches.add(res);
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(bookmark, BOOKMARK_INTERVAL_MS));
    timers.push(setTimeout(() => res.end(), timeout * 1000));
    res.on('close', () => {
      handle.stop();
      for (const t of timers) clearTimeout(t);
      this.activeWatches.delete(res);
    });
  }
}

/** `[scheme:]name[:port]`, the name segment of a proxy request (upstream: net.SplitSchemeNamePort). */
export function parseProxyName(id: string): { scheme: string; name: string; port: string } {
  const parts = id.split(':');
  if (parts.length === 1) return { scheme: '', name: parts[0], port: '' };
  if (parts.length === 2) return { scheme: '', name: parts[0], port: parts[1] };
  if (parts.length === 3 && (parts[0] === 'http' || parts[0] === 'https' || parts[0] === '')) return { scheme: parts[0], name: parts[1], port: parts[2] };
  throw badRequest(`invalid service request "${id}"`);
}

/** /api, /api/v1, /apis, /apis/G, /apis/G/V: discovery documents, not resource requests. */
function isDiscoveryPath(segments: string[]): boolean {
  return segments[0] === 'api' ? segments.length <= 2 : segments.length <= 3;
}

function withTypeMeta(obj: KubeObject, meta: { kind: string; apiVersion: string }): KubeObject {
  if (obj.kind && obj.apiVersion) return obj;
  return { ...meta, ...obj };
}
