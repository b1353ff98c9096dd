// OpenAPI for the API server: the generated definitions (dist/generated/openapi-definitions.json,
// written by scripts/gen-openapi.ts), the swagger 2.0 document (JSON and gnostic protobuf),
// the OpenAPI 3.0 documents per group-version with their index, strict field validation,
// and the HTTP handler for /openapi/v2, /openapi/v3, /swagger.json and /swagger-2.0.0.pb-v1.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { allResources, resourcesGeneration } from '../../machinery/resources.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import {
  buildPathGroups,
  DELETE_OPTIONS_DEF,
  PATCH_DEF,
  referencedDefinitions,
  renderV2Paths,
  renderV3Paths,
  servedGroupVersions,
  STATUS_DEF,
  WATCH_EVENT_DEF,
  type PathGroup,
} from './paths.js';
import { encodeDocument } from './proto.js';
import type { Schema } from './schema.js';
import { collectUnknownFields, decodeAgainstSchema } from './validate.js';
import type { DecodeResult } from './validate.js';

export type { DecodeResult } from './validate.js';

export type { GroupVersionKind, Schema } from './schema.js';
export { PATCH_TYPES } from './paths.js';

/** The Kubernetes version the documents describe. */
export const OPENAPI_VERSION = 'v1.33.0';
/**
 * Media type of the gnostic protobuf v2 document. Clients (kubectl 1.27/1.28) ask for the
 * `…spec.v2@v1.0+protobuf` spelling, but `@` is not valid in a Content-Type token (Go's
 * mime.ParseMediaType rejects it and client-go then fails the request), so the response
 * is labelled with the dotted spelling, as kube-apiserver does.
 */
export const PROTOBUF_V2_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const PROTOBUF_V2_ACCEPT_AT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const REF_V2 = '#/definitions/';
const REF_V3 = '#/components/schemas/';

// ---- definitions -------------------------------------------------------------------------

let baseDefs: Record<string, Schema> | undefined;
let defs: Record<string, Schema> | undefined;
let byGvk: Map<string, string> | undefined;
/**
 * Definitions by the text of a `$ref` to them (resolveSchema): the same ref strings come
 * back on every decode, so a lookup by them skips cutting the name out of the ref and
 * hashing it afresh against every definition.
 */
const byRef = new Map<string, Schema>();
/** The served-resource generation the documents were built for; custom resources change it. */
let builtFor = -1;

/** Forget every document built for an older set of served resources. */
function refresh(): void {
  if (builtFor === resourcesGeneration()) return;
  builtFor = resourcesGeneration();
  defs = undefined;
  byGvk = undefined;
  byRef.clear();
  pathGroups = undefined;
  v2Json = undefined;
  v2Proto = undefined;
  v3Docs = undefined;
  v3IndexBody = undefined;
}

/** Upstream's definition name of a custom kind: the group reversed, then version and kind (`com.example.v1.Widget`). */
export function customDefinitionName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** A CRD schema as upstream publishes it: int-or-string as anyOf integer/string (kubectl explain shows <IntOrString>). */
function publishable(schema: Record<string, any>): Record<string, any> {
  if (!schema || typeof schema !== 'object') return schema;
  if (schema['x-kubernetes-int-or-string'] && !schema.anyOf) schema.anyOf = [{ type: 'integer' }, { type: 'string' }];
  for (const sub of Object.values(schema.properties ?? {})) publishable(sub as Record<string, any>);
  if (schema.items) publishable(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') publishable(schema.additionalProperties);
  return schema;
}

/** The definitions of a served custom resource version and its list (upstream: the CRD's published OpenAPI). */
function customDefinitions(res: ResourceInfo, out: Record<string, Schema>): void {
  const given = (res.custom!.version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Record<string, any>;
  const name = customDefinitionName(res.group, res.version, res.kind);
  const schema: Record<string, any> = publishable(structuredClone(given));
  schema.type = 'object';
  schema.properties = {
    ...(schema.properties ?? {}),
    apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
    kind: { description: KIND_DESCRIPTION, type: 'string' },
    metadata: { $ref: `${REF_V2}${META}.ObjectMeta`, description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" },
  };
  schema['x-kubernetes-group-version-kind'] = [{ group: res.group, kind: res.kind, version: res.version }];
  out[name] = schema as Schema;
  out[`${name}List`] = {
    description: `${res.kind}List is a list of ${res.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
      items: { description: `List of ${res.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, type: 'array', items: { $ref: `${REF_V2}${name}` } },
      kind: { description: KIND_DESCRIPTION, type: 'string' },
      metadata: { $ref: `${REF_V2}${META}.ListMeta`, description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
    },
    'x-kubernetes-group-version-kind': [{ group: res.group, kind: `${res.kind}List`, version: res.version }],
  } as Schema;
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/** All generated definitions, by upstream name. Loaded once; treat as read-only. */
export function definitions(): Record<string, Schema> {
  refresh();
  if (!defs) {
    defs = { ...loadDefinitions() };
    const custom = allResources().filter((r) => r.custom);
    for (const r of custom) customDefinitions(r, defs);
    if (custom.length) {
      // DeleteOptions and WatchEvent are registered in every served group-version, custom ones too.
      for (const name of [DELETE_OPTIONS_DEF, WATCH_EVENT_DEF]) {
        const gvks = [...(defs[name]?.['x-kubernetes-group-version-kind'] ?? [])];
        const kind = name === DELETE_OPTIONS_DEF ? 'DeleteOptions' : 'WatchEvent';
        for (const r of custom) if (!gvks.some((g) => g.group === r.group && g.version === r.version)) gvks.push({ group: r.group, kind, version: r.version });
        gvks.sort((a, b) => (a.group === b.group ? cmp(a.version, b.version) : cmp(a.group, b.group)));
        if (defs[name]) defs[name] = { ...defs[name], 'x-kubernetes-group-version-kind': gvks };
      }
    }
  }
  return defs;
}

function loadDefinitions(): Record<string, Schema> {
  if (!baseDefs) {
    const file = new URL('../../generated/openapi-definitions.json', import.meta.url);
    let loaded: Record<string, Schema>;
    try {
      loaded = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Schema>;
    } catch (err) {
      throw new Error(`cannot load OpenAPI definitions from ${file.pathname} (run the build's postbuild step): ${(err as Error).message}`, {
        cause: err,
      });
    }
    // DeleteOptions and WatchEvent are registered in every served group-version.
    const gvs = [{ group: '', version: 'v1' }, ...servedGroupVersions()]
      .filter((gv, i, all) => all.findIndex((o) => o.group === gv.group && o.version === gv.version) === i)
      .sort((a, b) => (a.group === b.group ? cmp(a.version, b.version) : cmp(a.group, b.group)));
    for (const [name, kind] of [
      [DELETE_OPTIONS_DEF, 'DeleteOptions'],
      [WATCH_EVENT_DEF, 'WatchEvent'],
    ] as const) {
      if (loaded[name]) loaded[name]['x-kubernetes-group-version-kind'] = gvs.map((gv) => ({ group: gv.group, kind, version: gv.version }));
    }
    Object.assign(loaded, metricsDefinitions());
    baseDefs = loaded;
  }
  return baseDefs;
}

/** metrics.k8s.io/v1beta1 kinds, as metrics-server publishes them (they are not in kubernetes-types). */
function metricsDefinitions(): Record<string, Schema> {
  const ns = 'io.k8s.metrics.pkg.apis.metrics.v1beta1';
  const quantity = { $ref: `${REF_V2}io.k8s.apimachinery.pkg.api.resource.Quantity` };
  const usage = { description: 'The memory and CPU usage.', type: 'object', additionalProperties: quantity };
  const gvk = (kind: string) => [{ group: 'metrics.k8s.io', kind, version: 'v1beta1' }];
  const common = {
    apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
    kind: { description: KIND_DESCRIPTION, type: 'string' },
  };
  const list = (kind: string, item: string) => ({
    description: `${kind} is a list of ${item}.`,
    type: 'object',
    required: ['items'],
    properties: {
      ...common,
      items: { description: `List of ${item}.`, type: 'array', items: { $ref: `${REF_V2}${ns}.${item}` } },
      metadata: { $ref: `${REF_V2}${META}.ListMeta`, description: 'Standard list metadata.' },
    },
    'x-kubernetes-group-version-kind': gvk(kind),
  });
  const timing = {
    timestamp: { $ref: `${REF_V2}${META}.Time`, description: 'The following fields define time interval from which metrics were collected from the interval [Timestamp-Window, Timestamp].' },
    window: { type: 'string' },
  };
  return {
    [`${ns}.ContainerMetrics`]: {
      description: 'ContainerMetrics sets resource usage metrics of a container.',
      type: 'object',
      required: ['name', 'usage'],
      properties: { name: { description: 'Container name corresponding to the one from pod.spec.containers.', type: 'string' }, usage },
    },
    [`${ns}.NodeMetrics`]: {
      description: 'NodeMetrics sets resource usage metrics of a node.',
      type: 'object',
      required: ['timestamp', 'window', 'usage'],
      properties: { ...common, metadata: { $ref: `${REF_V2}${META}.ObjectMeta`, description: 'Standard object metadata.' }, ...timing, usage },
      'x-kubernetes-group-version-kind': gvk('NodeMetrics'),
    },
    [`${ns}.NodeMetricsList`]: list('NodeMetricsList', 'NodeMetrics'),
    [`${ns}.PodMetrics`]: {
      description: 'PodMetrics sets resource usage metrics of a pod.',
      type: 'object',
      required: ['timestamp', 'window', 'containers'],
      properties: {
        ...common,
        metadata: { $ref: `${REF_V2}${META}.ObjectMeta`, description: 'Standard object metadata.' },
        ...timing,
        containers: { description: 'Metrics for all containers are collected within the same time window.', type: 'array', items: { $ref: `${REF_V2}${ns}.ContainerMetrics` } },
      },
      'x-kubernetes-group-version-kind': gvk('PodMetrics'),
    },
    [`${ns}.PodMetricsList`]: list('PodMetricsList', 'PodMetrics'),
  } as Record<string, Schema>;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function gvkIndex(): Map<string, string> {
  refresh();
  if (!byGvk) {
    byGvk = new Map();
    for (const [name, schema] of Object.entries(definitions())) {
      for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
        const k = gvkKey(gvk.group, gvk.version, gvk.kind);
        if (!byGvk.has(k)) byGvk.set(k, name);
      }
    }
  }
  return byGvk;
}

/** The last kind named and its definition, with the index it was found in (see definitionNameFor). */
let lastDefinitionName: { index: Map<string, string>; group: string; version: string; kind: string; name: string | undefined } | undefined;

/** Upstream definition name of a kind, e.g. (`apps`, `v1`, `Deployment`) → `io.k8s.api.apps.v1.Deployment`. */
export function definitionNameFor(group: string, version: string, kind: string): string | undefined {
  const index = gvkIndex();
  // A write asks for its kind's several times, and writes come in runs of one kind: the
  // last answer stands while the index is the same one.
  const last = lastDefinitionName;
  if (last && last.index === index && last.kind === kind && last.group === group && last.version === version) return last.name;
  const name = index.get(gvkKey(group, version, kind));
  lastDefinitionName = { index, group, version, kind, name };
  return name;
}

/** The definition of a kind, if kite has one. */
export function schemaFor(group: string, version: string, kind: string): Schema | undefined {
  const name = definitionNameFor(group, version, kind);
  return name ? definitions()[name] : undefined;
}

/** Follows `$ref`s (v2 or v3 style) to the referenced definition; other schemas are returned as is. */
export function resolveSchema(schema: Schema): Schema {
  let s = schema;
  if (!s.$ref) return s;
  const all = definitions();
  for (let depth = 0; s.$ref && depth < 32; depth++) {
    const ref = s.$ref;
    let target = byRef.get(ref);
    if (!target) {
      const name = ref.startsWith(REF_V2) ? ref.slice(REF_V2.length) : ref.startsWith(REF_V3) ? ref.slice(REF_V3.length) : ref;
      target = all[name];
      if (!target) return {};
      byRef.set(ref, target);
    }
    s = target;
  }
  return s;
}

/**
 * Strict-decoding errors of `obj` as the given kind, worded as kube-apiserver words them
 * (`unknown field "spec.template.spec.containers[0].imagePullPolcy"`). Empty when the
 * object is clean or the kind is unknown.
 */
export function unknownFieldErrors(group: string, version: string, kind: string, obj: unknown): string[] {
  const schema = schemaFor(group, version, kind);
  if (!schema) return [];
  return collectUnknownFields(schema, obj, resolveSchema);
}

/**
 * Decodes `obj` as the given kind the way upstream's typed decoding does: reports the
 * first wrongly typed field and removes (and lists) unknown fields. Undefined for kinds
 * without a definition (custom resources).
 */
export function decodeTyped(group: string, version: string, kind: string, obj: unknown): DecodeResult | undefined {
  const name = definitionNameFor(group, version, kind);
  if (!name || !definitions()[name]) return undefined;
  return decodeAgainstSchema(definitions()[name], name, obj, resolveSchema);
}

// ---- documents ---------------------------------------------------------------------------

let pathGroups: PathGroup[] | undefined;

function groupsOfPaths(): PathGroup[] {
  refresh();
  pathGroups ??= buildPathGroups((g, v, k) => definitionNameFor(g, v, k));
  return pathGroups;
}

function refsOf(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) refsOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.add(v.startsWith(REF_V2) ? v.slice(REF_V2.length) : v);
      else refsOf(v, out);
    }
  }
}

/** `roots` and every definition they reach, sorted by name. */
function closure(roots: Iterable<string>): string[] {
  const all = definitions();
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const name = queue.pop()!;
    if (seen.has(name) || !all[name]) continue;
    seen.add(name);
    const refs = new Set<string>();
    refsOf(all[name], refs);
    for (const r of refs) if (!seen.has(r)) queue.push(r);
  }
  return [...seen].sort();
}

/** Kinds every document set starts from: the served kinds, their lists and the meta kinds. */
function rootDefinitions(): Set<string> {
  const roots = new Set<string>([STATUS_DEF, DELETE_OPTIONS_DEF, WATCH_EVENT_DEF, PATCH_DEF]);
  for (const kind of ['APIGroup', 'APIGroupList', 'APIResourceList', 'APIVersions']) roots.add(`${META}.${kind}`);
  roots.add('io.k8s.apimachinery.pkg.version.Info');
  for (const res of allResources()) {
    for (const kind of [res.kind, `${res.kind}List`]) {
      const name = definitionNameFor(res.group, res.version, kind);
      if (name) roots.add(name);
    }
  }
  for (const g of groupsOfPaths()) for (const name of referencedDefinitions(g.items)) roots.add(name);
  return roots;
}

function rewriteRefs(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, from, to));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith(from) ? to + v.slice(from.length) : rewriteRefs(v, from, to);
    }
    return out;
  }
  return value;
}

const SECURITY = [{ BearerToken: [] as string[] }];
const BEARER = { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' };

/** The swagger 2.0 document as a JSON value. */
export function openapiV2Document(): Record<string, unknown> {
  const all = definitions();
  const definitionsOut: Record<string, Schema> = {};
  for (const name of closure(rootDefinitions())) definitionsOut[name] = all[name];
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: OPENAPI_VERSION },
    paths: renderV2Paths(groupsOfPaths()),
    definitions: definitionsOut,
    security: SECURITY,
    securityDefinitions: { BearerToken: BEARER },
  };
}

/** The OpenAPI 3.0 document of one index key (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`, `apis`, `version`). */
export function openapiV3Document(key: string): Record<string, unknown> | undefined {
  const group = groupsOfPaths().find((g) => g.key === key);
  if (!group) return undefined;
  const all = definitions();
  const schemas: Record<string, unknown> = {};
  for (const name of closure(referencedDefinitions(group.items))) schemas[name] = rewriteRefs(all[name], REF_V2, REF_V3);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: OPENAPI_VERSION },
    paths: renderV3Paths(group.items),
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    },
    security: SECURITY,
  };
}

interface Body {
  body: Buffer;
  etag: string;
  hash: string;
}

function hashed(body: Buffer): Body {
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { body, etag: `"${hash}"`, hash };
}

let v2Json: Body | undefined;
let v2Proto: Body | undefined;
let v3Docs: Map<string, Body> | undefined;
let v3IndexBody: Body | undefined;

function v2JsonBody(): Body {
  refresh();
  v2Json ??= hashed(Buffer.from(JSON.stringify(openapiV2Document())));
  return v2Json;
}

function v2ProtoBody(): Body {
  refresh();
  v2Proto ??= hashed(encodeDocument(openapiV2Document()));
  return v2Proto;
}

function v3Bodies(): Map<string, Body> {
  refresh();
  if (!v3Docs) {
    v3Docs = new Map();
    for (const g of groupsOfPaths()) v3Docs.set(g.key, hashed(Buffer.from(JSON.stringify(openapiV3Document(g.key)))));
  }
  return v3Docs;
}

function wantsProtobuf(accept: string): boolean {
  return accept.includes(PROTOBUF_V2_CONTENT_TYPE) || accept.includes(PROTOBUF_V2_ACCEPT_AT);
}

/**
 * The swagger 2.0 document: gnostic protobuf (content type PROTOBUF_V2_CONTENT_TYPE) when
 * `accept` asks for application/com.github.proto-openapi.spec.v2@v1.0+protobuf or
 * …spec.v2.v1.0+protobuf, JSON otherwise.
 */
export function openapiV2(accept: string): { contentType: string; body: Buffer; etag: string } {
  if (wantsProtobuf(accept)) {
    const b = v2ProtoBody();
    return { contentType: PROTOBUF_V2_CONTENT_TYPE, body: b.body, etag: b.etag };
  }
  const b = v2JsonBody();
  return { contentType: 'application/json', body: b.body, etag: b.etag };
}

/** `{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=..."}, ...}}`. */
export function openapiV3Index(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const bodies = v3Bodies();
  for (const key of [...bodies.keys()].sort()) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${bodies.get(key)!.hash}` };
  return { paths };
}

function v3IndexBuffer(): Body {
  refresh();
  v3IndexBody ??= hashed(Buffer.from(JSON.stringify(openapiV3Index())));
  return v3IndexBody;
}

/** The OpenAPI 3.0 document of a group-version path such as `apis/apps/v1` (leading slash optional). */
export function openapiV3(gvPath: string): { body: Buffer; etag: string } | undefined {
  const b = v3Bodies().get(gvPath.replace(/^\/+/, '').replace(/\/+$/, ''));
  return b ? { body: b.body, etag: b.etag } : undefined;
}

/** Current content hash of a v3 document (the `hash` query parameter of its index URL). */
export function openapiV3Hash(gvPath: string): string | undefined {
  return v3Bodies().get(gvPath.replace(/^\/+/, '').replace(/\/+$/, ''))?.hash;
}

// ---- HTTP --------------------------------------------------------------------------------

const gzipped = new WeakMap<Buffer, Buffer>();

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  contentType: string,
  body: Buffer,
  etag: string,
  cacheControl: string,
  extraHeaders: Record<string, string> = {},
): void {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('Vary', 'Accept, Accept-Encoding');
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  let payload = body;
  const acceptEncoding = String(req.headers['accept-encoding'] ?? '');
  if (body.length > 1024 && /\bgzip\b/.test(acceptEncoding)) {
    let z = gzipped.get(body);
    if (!z) {
      z = gzipSync(body);
      gzipped.set(body, z);
    }
    payload = z;
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(payload.length));
  if (req.method === 'HEAD') res.end();
  else res.end(payload);
}

function notFound(res: ServerResponse, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'NotFound', code: 404 });
  res.statusCode = 404;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.end(body);
}

/**
 * Serves the OpenAPI endpoints; returns false (without touching `res`) for other paths.
 * Call after authentication.
 */
export function serveOpenApi(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): boolean {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const isV2 = path === '/openapi/v2' || path === '/swagger.json' || path === '/swagger-2.0.0.pb-v1';
  const isV3 = path === '/openapi/v3' || path.startsWith('/openapi/v3/');
  if (!isV2 && !isV3) return false;

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.statusCode = 405;
    res.setHeader('Allow', 'GET, HEAD');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server does not allow this method on the requested resource', reason: 'MethodNotAllowed', code: 405 }));
    return true;
  }

  if (isV2) {
    const accept = path === '/swagger-2.0.0.pb-v1' ? PROTOBUF_V2_CONTENT_TYPE : path === '/swagger.json' ? 'application/json' : String(req.headers.accept ?? '');
    const doc = openapiV2(accept);
    send(req, res, doc.contentType, doc.body, doc.etag, 'no-cache, private');
    return true;
  }

  if (path === '/openapi/v3') {
    const index = v3IndexBuffer();
    send(req, res, 'application/json', index.body, index.etag, 'no-cache, private');
    return true;
  }

  const key = decodeURIComponent(path.slice('/openapi/v3/'.length));
  const body = v3Bodies().get(key);
  if (!body) {
    notFound(res, `the server could not find the requested resource: OpenAPI v3 document ${JSON.stringify(key)}`);
    return true;
  }
  const hash = query.get('hash');
  if (hash && hash === body.hash) {
    const expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
    send(req, res, 'application/json', body.body, body.etag, 'public, immutable', { Expires: expires });
  } else {
    send(req, res, 'application/json', body.body, body.etag, 'no-cache, private');
  }
  return true;
}
