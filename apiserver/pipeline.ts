// The one request pipeline (upstream: the handler chain of apiserver/pkg/server plus the
// REST handlers of apiserver/pkg/endpoints). Every caller goes through it — the HTTPS
// server after it has authenticated the request, and the in-process transport used by
// the controller manager and scheduler with their own identities:
//
//   authorize (Node, RBAC) → route (main resource, subresource, virtual) → registry,
//   which runs the kind's strategy and the admission chain (mutating, then validating)
//   before storage.
//
// Subresources are routed here, in one table, for both kinds of caller.
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf } from '../machinery/resources.js';
import type { Status } from '../machinery/status.js';
import { StatusError, badRequest, methodNotAllowed, notFound } from '../machinery/status.js';
import type { RequestContext, UserInfo } from './context.js';
import type { DeleteOptions, ListOptions, ListResult, Registry, WatchHandle, WatchOptions, WatchSink } from './registry.js';
import type { PatchType } from './patching.js';
import type { Authorizer, Decision, RequestAttributes, RulesForUser } from './authorization/types.js';
import { authorizationError } from './authorization/forbidden.js';
import { parseFieldSelector } from './selectors.js';

/** Reads of a computed resource (metrics.k8s.io), keyed `group/plural`. */
export interface ComputedHandler {
  get(namespace: string | undefined, name: string): KubeObject;
  list(namespace: string | undefined, opts: ListOptions): ListResult;
}

/** What a routed call answers: the HTTP code and the body (an object, a Status, a Scale…). */
export interface CallResult {
  code: number;
  body: KubeObject | Status;
  /** The body is the addressed object itself (main resource or status): it may be shown as a Table. */
  isObject: boolean;
  /** The body is the watch cache's own object (shared, never changed): its encoding may be kept with it. */
  shared?: boolean;
}

export interface SubresourceCall {
  ctx: RequestContext;
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string;
}

/** How one subresource (`pods/binding`, `deployments/scale`, …) answers each verb it has. */
export interface SubresourceHandler {
  get?(call: SubresourceCall): Promise<CallResult> | CallResult;
  create?(call: SubresourceCall, body: KubeObject): Promise<CallResult> | CallResult;
  update?(call: SubresourceCall, body: KubeObject): Promise<CallResult> | CallResult;
  patch?(call: SubresourceCall, type: PatchType, body: Buffer): Promise<CallResult> | CallResult;
  /** Served on every stored resource without being declared in the resource table (kite's `history`). */
  anyResource?: boolean;
}

/** A create-only resource that is never stored (reviews), keyed `group/plural`. */
export type VirtualHandler = (body: KubeObject, ctx: RequestContext, namespace: string | undefined) => Promise<KubeObject> | KubeObject;

/** Who may do what, for SelfSubjectRulesReview (the RBAC rule resolver). */
export interface RulesResolver {
  rulesFor(user: UserInfo, namespace: string): RulesForUser;
}

/** The HTTP method's verb for connect requests (upstream requestinfo). */
export function connectVerb(method: string): string {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

/** Upstream's answer for a path nothing serves (an unknown subresource among them). */
export function resourceNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

/** A created object's answer. */
function created(obj: KubeObject): CallResult {
  return { code: 201, body: obj, isObject: true };
}

/** The object history credits the writes this request makes (and those of work it starts with a copy of ctx) to its user. */
function creditWrites(ctx: RequestContext): void {
  ctx.writer = { user: ctx.user.name, fieldManager: ctx.fieldManager ?? '', userAgent: ctx.userAgent ?? '' };
}

export class RequestPipeline {
  private readonly subresources = new Map<string, SubresourceHandler>();
  private readonly virtuals = new Map<string, VirtualHandler>();
  private readonly computed = new Map<string, ComputedHandler>();

  constructor(
    readonly registry: Registry,
    private readonly authorizer: Authorizer,
    private readonly rules?: RulesResolver,
  ) {}

  // ---- wiring ---------------------------------------------------------------------------------

  /** Route `group/plural/subresource` (e.g. `/pods/binding`, `apps/deployments/scale`). */
  handleSubresource(key: string, handler: SubresourceHandler): void {
    this.subresources.set(key, handler);
  }

  /** Route creates of a virtual resource, keyed `group/plural`. */
  handleVirtual(key: string, handler: VirtualHandler): void {
    this.virtuals.set(key, handler);
  }

  /** Route reads of a computed resource, keyed `group/plural`. */
  handleComputed(key: string, handler: ComputedHandler): void {
    this.computed.set(key, handler);
  }

  private computedHandler(res: ResourceInfo): ComputedHandler {
    const h = this.computed.get(`${res.group}/${res.plural}`);
    if (!h) throw new StatusError(503, 'ServiceUnavailable', `the server is currently unable to handle the request`);
    return h;
  }

  // ---- authorization ----------------------------------------------------------------------------

  /** The decision for `attrs`, without throwing (reviews ask this). */
  decide(attrs: RequestAttributes): Decision {
    return this.authorizer.authorize(attrs);
  }

  rulesFor(user: UserInfo, namespace: string): RulesForUser {
    if (this.rules) return this.rules.rulesFor(user, namespace);
    return { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'no rule resolver' };
  }

  /** Throws upstream's 403 unless `attrs` is allowed. */
  authorize(attrs: RequestAttributes): void {
    const d = this.authorizer.authorize(attrs);
    if (d.decision !== 'allow') throw authorizationError(attrs, d.reason);
  }

  resourceAttributes(user: UserInfo, verb: string, res: ResourceInfo, namespace: string | undefined, name: string | undefined, subresource?: string): RequestAttributes {
    const prefix = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
    const path = `${prefix}${namespace ? `/namespaces/${namespace}` : ''}/${res.plural}${name ? `/${name}` : ''}${subresource ? `/${subresource}` : ''}`;
    return {
      user,
      verb,
      resourceRequest: true,
      path,
      apiGroup: res.group,
      apiVersion: res.version,
      resource: res.plural,
      subresource: subresource ?? '',
      namespace: namespace ?? '',
      name: name ?? '',
    };
  }

  /** Authorize a non-resource request (discovery, /version, /openapi, …). */
  authorizePath(user: UserInfo, method: string, path: string): void {
    const verb = method.toUpperCase() === 'HEAD' ? 'get' : method.toLowerCase();
    this.authorize({ user, verb, resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' });
  }

  private check(ctx: RequestContext, verb: string, res: ResourceInfo, namespace: string | undefined, name: string | undefined, subresource?: string): void {
    this.authorize(this.resourceAttributes(ctx.user, verb, res, namespace, name, subresource));
  }

  /**
   * A list or watch narrowed to one name by `metadata.name=` is authorized for that name,
   * so rules with resourceNames apply to it (upstream requestinfo does the same).
   */
  private nameFromSelector(fieldSelector: string | null | undefined): string | undefined {
    if (!fieldSelector) return undefined;
    try {
      return parseFieldSelector(fieldSelector, () => true).equalities.get('metadata.name');
    } catch {
      return undefined;
    }
  }

  // ---- reads ------------------------------------------------------------------------------------

  async get(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, subresource?: string): Promise<CallResult> {
    this.check(ctx, 'get', res, namespace, name, subresource);
    if (res.computed) {
      if (subresource) throw resourceNotFound();
      return { code: 200, body: this.computedHandler(res).get(namespace, name), isObject: true };
    }
    await this.registry.consistentRead();
    if (!subresource) {
      const { object, shared } = this.registry.getForRead(res, namespace, name);
      return { code: 200, body: object, isObject: true, shared };
    }
    const handler = this.subresource(res, subresource);
    if (!handler.get) throw methodNotAllowed();
    return handler.get({ ctx, resource: res, namespace, name });
  }

  async list(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, opts: ListOptions): Promise<ListResult> {
    this.check(ctx, 'list', res, namespace, this.nameFromSelector(opts.fieldSelector));
    if (res.computed) return this.computedHandler(res).list(namespace, opts);
    // No resourceVersion (or a continue token's own): the latest state, consistently.
    if (!opts.resourceVersion && !opts.continue) await this.registry.consistentRead();
    return this.registry.list(res, namespace, opts);
  }

  watch(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, opts: WatchOptions, sink: WatchSink): WatchHandle {
    this.check(ctx, 'watch', res, namespace, this.nameFromSelector(opts.fieldSelector));
    return this.registry.watch(res, namespace, opts, sink);
  }

  /** Authorize a streaming subresource (log, exec, attach, portforward, proxy) and return the object it addresses. */
  connect(ctx: RequestContext, verbs: string[], res: ResourceInfo, namespace: string | undefined, name: string, subresource: string, objectName = name): KubeObject {
    for (const verb of verbs) this.check(ctx, verb, res, namespace, name, subresource);
    return this.registry.get(res, namespace, objectName);
  }

  // ---- writes -----------------------------------------------------------------------------------

  create(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: KubeObject, name?: string, subresource?: string): Promise<CallResult> {
    creditWrites(ctx);
    // A plain create is the registry's promise and a reaction (no async frame of its own);
    // whatever fails before it is a rejection all the same.
    if (!res.virtual && !subresource) {
      try {
        if (name !== undefined) throw methodNotAllowed();
        this.check(ctx, 'create', res, namespace, undefined);
        return this.registry.create(res, namespace, body, ctx).then(created);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.createAs(ctx, res, namespace, body, name, subresource);
  }

  /** A create of a virtual resource or of a subresource (create has the plain ones). */
  private async createAs(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: KubeObject, name?: string, subresource?: string): Promise<CallResult> {
    if (res.virtual) {
      this.check(ctx, 'create', res, namespace, name ?? body.metadata?.name, subresource);
      return this.createVirtual(ctx, res, namespace, body);
    }
    if (!name) throw badRequest('resource name may not be empty');
    this.check(ctx, 'create', res, namespace, name, subresource);
    const handler = this.subresource(res, subresource!);
    if (!handler.create) throw methodNotAllowed();
    return handler.create({ ctx, resource: res, namespace, name }, body);
  }

  private async createVirtual(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: KubeObject): Promise<CallResult> {
    // POST …/namespaces/NS/bindings is the older spelling of pods/NAME/binding.
    if (res.group === '' && res.plural === 'bindings') {
      const podName = body.metadata?.name;
      if (!podName) throw badRequest('name is required for a binding');
      const pods = this.registry.resourceOf('', 'v1', 'pods');
      return this.subresource(pods, 'binding').create!({ ctx, resource: pods, namespace, name: podName }, body);
    }
    const handler = this.virtuals.get(`${res.group}/${res.plural}`);
    if (!handler) throw notFound(res.group, res.plural, '');
    const out = await handler(body, ctx, namespace);
    return { code: 201, body: { apiVersion: apiVersionOf(res), kind: res.kind, ...out }, isObject: false };
  }

  update(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, subresource?: string): Promise<CallResult> {
    creditWrites(ctx);
    return this.updateAs(ctx, res, namespace, name, body, subresource);
  }

  private async updateAs(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, subresource?: string): Promise<CallResult> {
    if (res.virtual) throw methodNotAllowed();
    this.check(ctx, 'update', res, namespace, name, subresource);
    if (subresource) {
      const handler = this.subresource(res, subresource);
      if (!handler.update) throw methodNotAllowed();
      return handler.update({ ctx, resource: res, namespace, name }, body);
    }
    const out = await this.registry.update(res, namespace, name, body, ctx);
    return { code: out.created ? 201 : 200, body: out.object, isObject: true };
  }

  patch(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: Buffer, subresource?: string): Promise<CallResult> {
    creditWrites(ctx);
    return this.patchAs(ctx, res, namespace, name, type, body, subresource);
  }

  private async patchAs(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: Buffer, subresource?: string): Promise<CallResult> {
    if (res.virtual) throw methodNotAllowed();
    this.check(ctx, 'patch', res, namespace, name, subresource);
    if (subresource) {
      const handler = this.subresource(res, subresource);
      if (!handler.patch) throw methodNotAllowed();
      return handler.patch({ ctx, resource: res, namespace, name }, type, body);
    }
    // Server-side apply may create: upstream authorizes the create as well.
    if (type === 'apply' && !this.registry.getStored(res, namespace, name)) this.check(ctx, 'create', res, namespace, name);
    const out = await this.registry.patch(res, namespace, name, type, body, ctx);
    return { code: out.created ? 201 : 200, body: out.object, isObject: true };
  }

  delete(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<CallResult> {
    creditWrites(ctx);
    return this.deleteAs(ctx, res, namespace, name, opts);
  }

  private async deleteAs(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<CallResult> {
    if (res.virtual) throw methodNotAllowed();
    this.check(ctx, 'delete', res, namespace, name);
    const { result, pending } = await this.registry.delete(res, namespace, name, opts, ctx);
    return { code: pending ? 202 : 200, body: result, isObject: (result as KubeObject).kind !== 'Status' };
  }

  deleteCollection(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, listOpts: ListOptions, opts: DeleteOptions): Promise<ListResult> {
    creditWrites(ctx);
    return this.deleteCollectionAs(ctx, res, namespace, listOpts, opts);
  }

  private async deleteCollectionAs(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, listOpts: ListOptions, opts: DeleteOptions): Promise<ListResult> {
    if (res.virtual) throw methodNotAllowed();
    this.check(ctx, 'deletecollection', res, namespace, undefined);
    return this.registry.deleteCollection(res, namespace, listOpts, opts, ctx);
  }

  private subresource(res: ResourceInfo, subresource: string): SubresourceHandler {
    const handler = this.subresources.get(`${res.group}/${res.plural}/${subresource}`) ?? this.subresources.get(`*/*/${subresource}`);
    if (!handler || !((handler.anyResource && !res.virtual) || res.subresources?.some((s) => s.name === subresource))) throw resourceNotFound();
    return handler;
  }
}
