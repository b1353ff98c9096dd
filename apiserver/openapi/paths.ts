// The REST operations of every served resource, modelled once and rendered both as
// swagger 2.0 `paths` and as OpenAPI 3.0 `paths`. Shapes follow what kube-apiserver
// publishes (operation ids, x-kubernetes-action, x-kubernetes-group-version-kind,
// content types, query parameters); descriptions are kite's own.
import { allResources, type ResourceInfo, type SubresourceInfo } from '../../machinery/resources.js';

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export type ParamType = 'string' | 'boolean' | 'integer';

export interface Param {
  name: string;
  in: 'path' | 'query' | 'body';
  description?: string;
  type?: ParamType;
  required?: boolean;
  /** Body parameters: definition name of the body schema. */
  schema?: string;
}

export interface Response {
  code: string;
  description: string;
  /** Definition name, or `string` for raw bodies. */
  schema?: string;
}

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head' | 'options';

export interface Operation {
  method: Method;
  operationId: string;
  description: string;
  action?: string;
  gvk?: Gvk;
  consumes: string[];
  produces: string[];
  params: Param[];
  responses: Response[];
  tag: string;
}

export interface PathItem {
  path: string;
  params: Param[];
  ops: Operation[];
}

/** Which OpenAPI v3 document (index key) a path belongs to. */
export interface PathGroup {
  key: string;
  items: PathItem[];
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const STATUS_DEF = `${META}.Status`;
export const DELETE_OPTIONS_DEF = `${META}.DeleteOptions`;
export const WATCH_EVENT_DEF = `${META}.WatchEvent`;
export const PATCH_DEF = `${META}.Patch`;

const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const STREAM_TYPES = [...OBJECT_TYPES, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const ANY = ['*/*'];

// ---- parameters ---------------------------------------------------------------------------

const q = (name: string, type: ParamType, description: string): Param => ({ name, in: 'query', type, description });
const pathParam = (name: string, description: string): Param => ({ name, in: 'path', type: 'string', required: true, description });

const P = {
  pretty: q('pretty', 'string', "If 'true', the output is pretty printed."),
  namespace: pathParam('namespace', 'object name and auth scope, such as for teams and projects'),
  dryRun: q('dryRun', 'string', 'When present, the change is validated and processed but not persisted. The only valid value is All.'),
  fieldManagerWrite: q('fieldManager', 'string', 'Name of the actor making the change, recorded in managedFields. At most 128 printable characters.'),
  fieldManagerPatch: q(
    'fieldManager',
    'string',
    'Name of the actor making the change, recorded in managedFields. At most 128 printable characters. Required for apply patches, optional otherwise.',
  ),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'How the server treats unknown or duplicate fields in the request body: Ignore drops them silently, Warn drops them and answers with a warning header per field, Strict rejects the request with 400 Bad Request.',
  ),
  force: q('force', 'boolean', 'Force an apply patch: take ownership of fields managed by others on conflict. Must be unset for other patch types.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK watch events, sent at the server\'s discretion. Ignored when not watching.'),
  continue: q('continue', 'string', 'Opaque token from a previous chunked list response, to fetch the next chunk.'),
  fieldSelector: q('fieldSelector', 'string', 'Restrict the returned objects by their fields. Defaults to everything.'),
  labelSelector: q('labelSelector', 'string', 'Restrict the returned objects by their labels. Defaults to everything.'),
  limit: q('limit', 'integer', 'Maximum number of objects to return; when more exist, metadata.continue is set on the list.'),
  resourceVersion: q('resourceVersion', 'string', 'Constraint on the resource version the request may be served from. Defaults to unset (most recent).'),
  resourceVersionMatch: q('resourceVersionMatch', 'string', 'How resourceVersion applies to a list: Exact or NotOlderThan. Defaults to unset.'),
  sendInitialEvents: q('sendInitialEvents', 'boolean', 'With watch=true, start the stream with synthetic ADDED events for the current state, followed by a bookmark.'),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Timeout for the list or watch call, regardless of activity.'),
  watch: q('watch', 'boolean', 'Watch for changes to the described resources and stream them as added, modified and deleted notifications.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'Seconds before the object is deleted; 0 deletes immediately. Defaults to the per-object value.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated, use propagationPolicy. Whether dependents are orphaned.'),
  propagationPolicy: q('propagationPolicy', 'string', "Garbage collection of dependents: 'Orphan', 'Background' or 'Foreground'."),
  ignoreStoreReadError: q(
    'ignoreStoreReadErrorWithClusterBreakingPotential',
    'boolean',
    'Delete an object that cannot be read from storage, bypassing finalizers and preconditions. Unsafe.',
  ),
};

const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.ignoreStoreReadError, P.orphanDependents, P.propagationPolicy];
const DELETECOLLECTION_PARAMS = [
  P.continue,
  P.dryRun,
  P.fieldSelector,
  P.gracePeriodSeconds,
  P.ignoreStoreReadError,
  P.labelSelector,
  P.limit,
  P.orphanDependents,
  P.propagationPolicy,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
];

const CONNECT_PARAMS: Record<string, Param[]> = {
  attach: [
    q('container', 'string', 'Container to attach to. Defaults to the only container when the pod has one.'),
    q('stderr', 'boolean', 'Stream the stderr of the process. Defaults to true.'),
    q('stdin', 'boolean', 'Stream stdin to the process. Defaults to false.'),
    q('stdout', 'boolean', 'Stream the stdout of the process. Defaults to true.'),
    q('tty', 'boolean', 'Allocate a terminal. Defaults to false.'),
  ],
  exec: [
    q('command', 'string', 'Command to run; repeat the parameter for each argument.'),
    q('container', 'string', 'Container in which to run the command. Defaults to the only container when the pod has one.'),
    q('stderr', 'boolean', 'Stream the stderr of the command. Defaults to true.'),
    q('stdin', 'boolean', 'Stream stdin to the command. Defaults to false.'),
    q('stdout', 'boolean', 'Stream the stdout of the command. Defaults to true.'),
    q('tty', 'boolean', 'Allocate a terminal. Defaults to false.'),
  ],
  portforward: [q('ports', 'integer', 'Pod ports to forward; repeat the parameter for each port.')],
  proxy: [q('path', 'string', 'Path of the request to proxy.')],
};

const LOG_PARAMS = [
  q('container', 'string', 'Container whose log is returned. Defaults to the only container when the pod has one.'),
  q('follow', 'boolean', 'Keep streaming the log as it grows. Defaults to false.'),
  q('insecureSkipTLSVerifyBackend', 'boolean', 'Do not verify the serving certificate of the kubelet that serves the log.'),
  q('limitBytes', 'integer', 'Stop after this many bytes of log output.'),
  q('previous', 'boolean', 'Return the log of the previous, terminated instance of the container. Defaults to false.'),
  q('sinceSeconds', 'integer', 'Only return log lines newer than this many seconds.'),
  q('stream', 'string', 'Which stream to return: All, Stdout or Stderr. Defaults to All.'),
  q('tailLines', 'integer', 'Number of lines from the end of the log to return.'),
  q('timestamps', 'boolean', 'Prefix every line with an RFC3339 timestamp. Defaults to false.'),
];

// ---- naming ------------------------------------------------------------------------------

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `rbac.authorization.k8s.io` → `RbacAuthorization`, `` → `Core`. */
function groupWord(group: string): string {
  if (!group) return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split(/[.-]/)
    .map(pascal)
    .join('');
}

export function tagFor(group: string, version: string): string {
  const w = groupWord(group);
  return `${w.charAt(0).toLowerCase()}${w.slice(1)}_${version}`;
}

export function basePath(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/** The OpenAPI v3 index key of a group-version (`api/v1`, `apis/apps/v1`). */
export function gvKey(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Definition name of a kind, supplied by the caller (it owns the definitions). */
export type DefinitionLookup = (group: string, version: string, kind: string) => string | undefined;

// ---- resource operations -----------------------------------------------------------------

function responses(def: string, codes: [string, string][]): Response[] {
  return [...codes.map(([code, description]) => ({ code, description, schema: def })), { code: '401', description: 'Unauthorized' }];
}

const OK: [string, string] = ['200', 'OK'];
const CREATED: [string, string] = ['201', 'Created'];
const ACCEPTED: [string, string] = ['202', 'Accepted'];

function body(def: string, required = true): Param {
  return { name: 'body', in: 'body', required, schema: def };
}

interface Ctx {
  res: ResourceInfo;
  prefix: string; // operation id infix: AppsV1
  tag: string;
  scope: string; // 'Namespaced' or ''
  kind: string;
  gvk: Gvk;
  def: string;
  listDef: string;
}

function resourceItems(res: ResourceInfo, lookup: DefinitionLookup): PathItem[] {
  const def = lookup(res.group, res.version, res.kind);
  if (!def) throw new Error(`no definition for ${res.group}/${res.version} ${res.kind}`);
  const listDef = lookup(res.group, res.version, `${res.kind}List`) ?? def;
  const base = basePath(res.group, res.version);
  const ctx: Ctx = {
    res,
    prefix: `${groupWord(res.group)}${pascal(res.version)}`,
    tag: tagFor(res.group, res.version),
    scope: res.namespaced ? 'Namespaced' : '',
    kind: res.kind,
    gvk: { group: res.group, kind: res.kind, version: res.version },
    def,
    listDef,
  };
  const verbs = new Set(res.verbs);
  const nsPrefix = res.namespaced ? `${base}/namespaces/{namespace}` : base;
  const scopeParams = res.namespaced ? [P.namespace] : [];
  const items: PathItem[] = [];
  const id = (verb: string, suffix = '') => `${verb}${ctx.prefix}${ctx.scope}${ctx.kind}${suffix}`;
  const op = (o: Omit<Operation, 'tag' | 'gvk'> & { gvk?: Gvk }): Operation => ({ tag: ctx.tag, gvk: ctx.gvk, ...o });

  // Collection: list, create, deletecollection.
  const collection: Operation[] = [];
  if (verbs.has('delete') && verbs.has('deletecollection')) {
    collection.push(
      op({
        method: 'delete',
        operationId: `delete${ctx.prefix}Collection${ctx.scope}${ctx.kind}`,
        description: `delete collection of ${ctx.kind}`,
        action: 'deletecollection',
        consumes: ANY,
        produces: OBJECT_TYPES,
        params: [body(DELETE_OPTIONS_DEF, false), ...DELETECOLLECTION_PARAMS],
        responses: responses(STATUS_DEF, [OK]),
      }),
    );
  }
  if (verbs.has('list')) {
    collection.push(
      op({
        method: 'get',
        operationId: id('list'),
        description: `list or watch objects of kind ${ctx.kind}`,
        action: 'list',
        consumes: ANY,
        produces: STREAM_TYPES,
        params: LIST_PARAMS,
        responses: responses(listDef, [OK]),
      }),
    );
  }
  if (verbs.has('create')) {
    collection.push(
      op({
        method: 'post',
        operationId: id('create'),
        description: `create ${article(ctx.kind)} ${ctx.kind}`,
        action: 'post',
        consumes: ANY,
        produces: OBJECT_TYPES,
        params: [body(def), P.dryRun, P.fieldManagerWrite, P.fieldValidation],
        responses: responses(def, [OK, CREATED, ACCEPTED]),
      }),
    );
  }
  if (collection.length) items.push({ path: `${nsPrefix}/${res.plural}`, params: [...scopeParams, P.pretty], ops: collection });

  // Single object: read, replace, patch, delete.
  const single: Operation[] = [];
  const nameParam = pathParam('name', `name of the ${ctx.kind}`);
  if (verbs.has('delete')) {
    single.push(
      op({
        method: 'delete',
        operationId: id('delete'),
        description: `delete ${article(ctx.kind)} ${ctx.kind}`,
        action: 'delete',
        consumes: ANY,
        produces: OBJECT_TYPES,
        params: [body(DELETE_OPTIONS_DEF, false), ...DELETE_PARAMS],
        responses: responses(STATUS_DEF, [OK, ACCEPTED]),
      }),
    );
  }
  if (verbs.has('get')) {
    single.push(
      op({
        method: 'get',
        operationId: id('read'),
        description: `read the specified ${ctx.kind}`,
        action: 'get',
        consumes: ANY,
        produces: OBJECT_TYPES,
        params: [],
        responses: responses(def, [OK]),
      }),
    );
  }
  if (verbs.has('patch')) single.push(patchOp(ctx, id('patch'), `partially update the specified ${ctx.kind}`, def, ctx.gvk));
  if (verbs.has('update')) single.push(putOp(ctx, id('replace'), `replace the specified ${ctx.kind}`, def, ctx.gvk));
  if (single.length) items.push({ path: `${nsPrefix}/${res.plural}/{name}`, params: [nameParam, ...scopeParams, P.pretty], ops: single });

  // Across namespaces.
  if (res.namespaced && verbs.has('list')) {
    items.push({
      path: `${base}/${res.plural}`,
      params: [...LIST_PARAMS, P.pretty],
      ops: [
        op({
          method: 'get',
          operationId: `list${ctx.prefix}${ctx.kind}ForAllNamespaces`,
          description: `list or watch objects of kind ${ctx.kind}`,
          action: 'list',
          consumes: ANY,
          produces: STREAM_TYPES,
          params: [],
          responses: responses(listDef, [OK]),
        }),
      ],
    });
  }

  // Deprecated watch paths, still published.
  if (verbs.has('watch')) {
    const watchOp = (operationId: string, description: string, action: string): Operation =>
      op({ method: 'get', operationId, description, action, consumes: ANY, produces: STREAM_TYPES, params: [], responses: responses(WATCH_EVENT_DEF, [OK]) });
    items.push({
      path: `${base}/watch${res.namespaced ? '/namespaces/{namespace}' : ''}/${res.plural}`,
      params: [...LIST_PARAMS, ...scopeParams, P.pretty],
      ops: [
        watchOp(
          id('watch', 'List'),
          `watch individual changes to a list of ${ctx.kind}. deprecated: use the 'watch' parameter with a list operation instead.`,
          'watchlist',
        ),
      ],
    });
    items.push({
      path: `${base}/watch${res.namespaced ? '/namespaces/{namespace}' : ''}/${res.plural}/{name}`,
      params: [...LIST_PARAMS, nameParam, ...scopeParams, P.pretty],
      ops: [
        watchOp(
          id('watch'),
          `watch changes to an object of kind ${ctx.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`,
          'watch',
        ),
      ],
    });
    if (res.namespaced) {
      items.push({
        path: `${base}/watch/${res.plural}`,
        params: [...LIST_PARAMS, P.pretty],
        ops: [
          watchOp(
            `watch${ctx.prefix}${ctx.kind}ListForAllNamespaces`,
            `watch individual changes to a list of ${ctx.kind}. deprecated: use the 'watch' parameter with a list operation instead.`,
            'watchlist',
          ),
        ],
      });
    }
  }

  for (const sub of res.subresources ?? []) {
    items.push(...subresourceItems(ctx, sub, `${nsPrefix}/${res.plural}/{name}/${sub.name}`, [nameParam, ...scopeParams], lookup));
  }
  return items;
}

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? 'an' : 'a';
}

function patchOp(ctx: Ctx, operationId: string, description: string, def: string, gvk: Gvk): Operation {
  return {
    method: 'patch',
    operationId,
    description,
    action: 'patch',
    gvk,
    tag: ctx.tag,
    consumes: PATCH_TYPES,
    produces: OBJECT_TYPES,
    params: [body(PATCH_DEF), P.dryRun, P.fieldManagerPatch, P.fieldValidation, P.force],
    responses: responses(def, [OK, CREATED]),
  };
}

function putOp(ctx: Ctx, operationId: string, description: string, def: string, gvk: Gvk): Operation {
  return {
    method: 'put',
    operationId,
    description,
    action: 'put',
    gvk,
    tag: ctx.tag,
    consumes: ANY,
    produces: OBJECT_TYPES,
    params: [body(def), P.dryRun, P.fieldManagerWrite, P.fieldValidation],
    responses: responses(def, [OK, CREATED]),
  };
}

function subresourceItems(ctx: Ctx, sub: SubresourceInfo, path: string, baseParams: Param[], lookup: DefinitionLookup): PathItem[] {
  const group = sub.group ?? ctx.res.group;
  const version = sub.version ?? ctx.res.version;
  const gvk: Gvk = { group, kind: sub.kind, version };
  const suffix = pascal(sub.name);
  const name = `${ctx.prefix}${ctx.scope}${ctx.kind}${suffix}`;
  const verbs = new Set(sub.verbs);

  // Streaming and proxy subresources: "connect" operations answering raw bytes.
  if (sub.kind.endsWith('Options')) {
    const methods: [string, Method][] = [
      ['delete', 'delete'],
      ['get', 'get'],
      ['head', 'head'],
      ['options', 'options'],
      ['patch', 'patch'],
      ['create', 'post'],
      ['update', 'put'],
    ];
    const isProxy = sub.name === 'proxy';
    const mk = (withPath: boolean): Operation[] =>
      methods
        .filter(([verb]) => (verb === 'head' || verb === 'options' ? isProxy && verbs.has('get') : verbs.has(verb)))
        .map(([, method]) => ({
          method,
          operationId: `connect${ctx.prefix}${pascal(method)}${ctx.scope}${ctx.kind}${suffix}${withPath ? 'WithPath' : ''}`,
          description: `connect ${method.toUpperCase()} requests to ${sub.name} of ${ctx.kind}`,
          action: 'connect',
          gvk,
          tag: ctx.tag,
          consumes: ANY,
          produces: ANY,
          params: [],
          responses: [
            { code: '200', description: 'OK', schema: 'string' },
            { code: '401', description: 'Unauthorized' },
          ],
        }));
    const items: PathItem[] = [{ path, params: [...(CONNECT_PARAMS[sub.name] ?? []), ...baseParams], ops: mk(false) }];
    if (isProxy) {
      items.push({
        path: `${path}/{path}`,
        params: [...baseParams, pathParam('path', 'path to the resource'), ...(CONNECT_PARAMS.proxy ?? [])],
        ops: mk(true),
      });
    }
    return items;
  }

  if (sub.name === 'log') {
    return [
      {
        path,
        params: [...LOG_PARAMS, ...baseParams, P.pretty],
        ops: [
          {
            method: 'get',
            operationId: `read${name}`,
            description: `read log of the specified ${ctx.kind}`,
            action: 'get',
            gvk,
            tag: ctx.tag,
            consumes: ANY,
            produces: ['text/plain', ...OBJECT_TYPES],
            params: [],
            responses: [
              { code: '200', description: 'OK', schema: 'string' },
              { code: '401', description: 'Unauthorized' },
            ],
          },
        ],
      },
    ];
  }

  const def = lookup(group, version, sub.kind);
  if (!def) throw new Error(`no definition for ${group}/${version} ${sub.kind}`);
  const ops: Operation[] = [];
  if (verbs.has('get')) {
    ops.push({
      method: 'get',
      operationId: `read${name}`,
      description: `read ${sub.name} of the specified ${ctx.kind}`,
      action: 'get',
      gvk,
      tag: ctx.tag,
      consumes: ANY,
      produces: OBJECT_TYPES,
      params: [],
      responses: responses(def, [OK]),
    });
  }
  if (verbs.has('patch')) ops.push(patchOp(ctx, `patch${name}`, `partially update ${sub.name} of the specified ${ctx.kind}`, def, gvk));
  if (verbs.has('update')) ops.push(putOp(ctx, `replace${name}`, `replace ${sub.name} of the specified ${ctx.kind}`, def, gvk));
  if (verbs.has('create')) {
    ops.push({
      method: 'post',
      operationId: `create${name}`,
      description: `create ${sub.name} of ${article(ctx.kind)} ${ctx.kind}`,
      action: 'post',
      gvk,
      tag: ctx.tag,
      consumes: ANY,
      produces: OBJECT_TYPES,
      params: [body(def)],
      responses: responses(def, [OK, CREATED, ACCEPTED]),
    });
  }
  const params = verbs.has('create') && !verbs.has('update') ? [P.dryRun, P.fieldManagerWrite, P.fieldValidation, ...baseParams, P.pretty] : [...baseParams, P.pretty];
  return [{ path, params, ops }];
}

// ---- discovery paths ---------------------------------------------------------------------

function discoveryOp(operationId: string, description: string, def: string, tag: string): Operation {
  return {
    method: 'get',
    operationId,
    description,
    tag,
    consumes: OBJECT_TYPES,
    produces: OBJECT_TYPES,
    params: [],
    responses: responses(def, [OK]),
  };
}

/** All path items, grouped by the OpenAPI v3 document they belong to (index order). */
export function buildPathGroups(lookup: DefinitionLookup): PathGroup[] {
  const groups = new Map<string, PathItem[]>();
  const add = (key: string, item: PathItem) => {
    const list = groups.get(key) ?? [];
    list.push(item);
    groups.set(key, list);
  };

  add('api', { path: '/api/', params: [], ops: [discoveryOp('getCoreAPIVersions', 'get available API versions', `${META}.APIVersions`, 'core')] });
  add('apis', { path: '/apis/', params: [], ops: [discoveryOp('getAPIVersions', 'get available API versions', `${META}.APIGroupList`, 'apis')] });

  const seenGroups = new Set<string>();
  const seenGvs = new Set<string>();
  for (const res of allResources()) {
    if (res.group && !seenGroups.has(res.group)) {
      seenGroups.add(res.group);
      const w = groupWord(res.group);
      add(`apis/${res.group}`, {
        path: `/apis/${res.group}/`,
        params: [],
        ops: [discoveryOp(`get${w}APIGroup`, 'get information of a group', `${META}.APIGroup`, w.charAt(0).toLowerCase() + w.slice(1))],
      });
    }
    const key = gvKey(res.group, res.version);
    if (!seenGvs.has(key)) {
      seenGvs.add(key);
      add(key, {
        path: `${basePath(res.group, res.version)}/`,
        params: [],
        ops: [
          discoveryOp(
            `get${groupWord(res.group)}${pascal(res.version)}APIResources`,
            'get available resources',
            `${META}.APIResourceList`,
            tagFor(res.group, res.version),
          ),
        ],
      });
    }
    for (const item of resourceItems(res, lookup)) add(key, item);
  }
  add('version', {
    path: '/version/',
    params: [],
    ops: [
      {
        ...discoveryOp('getCodeVersion', 'get the version information for this server', 'io.k8s.apimachinery.pkg.version.Info', 'version'),
        consumes: ['application/json'],
        produces: ['application/json'],
      },
    ],
  });
  return [...groups].map(([key, items]) => ({ key, items: items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) }));
}

/** Group-versions served, in RESOURCES order, plus the ones subresources answer in. */
export function servedGroupVersions(): Gvk[] {
  const seen = new Set<string>();
  const out: Gvk[] = [];
  const push = (group: string, version: string) => {
    const k = `${group}/${version}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ group, version, kind: '' });
    }
  };
  for (const res of allResources()) {
    push(res.group, res.version);
    for (const sub of res.subresources ?? []) if (sub.group !== undefined && sub.version) push(sub.group, sub.version);
  }
  return out;
}

// ---- rendering ---------------------------------------------------------------------------

type Json = Record<string, unknown>;

function v2Param(p: Param): Json {
  if (p.in === 'body') {
    const out: Json = { in: 'body', name: p.name, schema: { $ref: `#/definitions/${p.schema}` } };
    if (p.required) out.required = true;
    return out;
  }
  const out: Json = {};
  if (p.description) out.description = p.description;
  out.in = p.in;
  out.name = p.name;
  if (p.required) out.required = true;
  out.type = p.type ?? 'string';
  out.uniqueItems = true;
  return out;
}

function v2Response(r: Response): Json {
  const out: Json = { description: r.description };
  if (r.schema === 'string') out.schema = { type: 'string' };
  else if (r.schema) out.schema = { $ref: `#/definitions/${r.schema}` };
  return out;
}

/** Swagger 2.0 `paths` object. */
export function renderV2Paths(groups: PathGroup[]): Json {
  const out: Json = {};
  const items = groups.flatMap((g) => g.items).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const item of items) {
    const rendered: Json = {};
    for (const op of item.ops) {
      const o: Json = {
        consumes: op.consumes,
        description: op.description,
        operationId: op.operationId,
      };
      if (op.params.length) o.parameters = op.params.map(v2Param);
      o.produces = op.produces;
      o.responses = Object.fromEntries(op.responses.map((r) => [r.code, v2Response(r)]));
      o.schemes = ['https'];
      o.tags = [op.tag];
      if (op.action) o['x-kubernetes-action'] = op.action;
      if (op.gvk) o['x-kubernetes-group-version-kind'] = { group: op.gvk.group, kind: op.gvk.kind, version: op.gvk.version };
      rendered[op.method] = o;
    }
    if (item.params.length) rendered.parameters = item.params.map(v2Param);
    out[item.path] = rendered;
  }
  return out;
}

function v3Param(p: Param): Json {
  const out: Json = {};
  if (p.description) out.description = p.description;
  out.in = p.in;
  out.name = p.name;
  if (p.required) out.required = true;
  out.schema = { type: p.type ?? 'string', uniqueItems: true };
  return out;
}

function v3Content(types: string[], schema: Json): Json {
  return Object.fromEntries(types.map((t) => [t, { schema }]));
}

/** OpenAPI 3.0 `paths` object for some path items. */
export function renderV3Paths(items: PathItem[]): Json {
  const out: Json = {};
  for (const item of items) {
    const rendered: Json = {};
    for (const op of item.ops) {
      const o: Json = { description: op.description, operationId: op.operationId };
      const bodyParam = op.params.find((p) => p.in === 'body');
      const rest = op.params.filter((p) => p.in !== 'body');
      if (rest.length) o.parameters = rest.map(v3Param);
      if (bodyParam) {
        const rb: Json = { content: v3Content(op.consumes, { $ref: `#/components/schemas/${bodyParam.schema}` }) };
        if (bodyParam.required) rb.required = true;
        o.requestBody = rb;
      }
      const responsesOut: Json = {};
      for (const r of op.responses) {
        const resp: Json = {};
        if (r.schema) {
          const schema = r.schema === 'string' ? { type: 'string' } : { $ref: `#/components/schemas/${r.schema}` };
          resp.content = v3Content(op.produces, schema);
        }
        resp.description = r.description;
        responsesOut[r.code] = resp;
      }
      o.responses = responsesOut;
      o.tags = [op.tag];
      if (op.action) o['x-kubernetes-action'] = op.action;
      if (op.gvk) o['x-kubernetes-group-version-kind'] = { group: op.gvk.group, kind: op.gvk.kind, version: op.gvk.version };
      rendered[op.method] = o;
    }
    if (item.params.length) rendered.parameters = item.params.map(v3Param);
    out[item.path] = rendered;
  }
  return out;
}

/** Definition names referenced directly by some path items. */
export function referencedDefinitions(items: PathItem[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    for (const op of item.ops) {
      for (const p of op.params) if (p.schema) out.add(p.schema);
      for (const r of op.responses) if (r.schema && r.schema !== 'string') out.add(r.schema);
    }
  }
  return out;
}
