// The built-in subresources, registered on the request pipeline (upstream: the extra
// REST storages next to each kind's Store — StatusREST, ScaleREST, BindingREST,
// EvictionREST, FinalizeREST, EphemeralContainersREST).
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { badRequest, conflict, notFound, StatusError } from '../machinery/status.js';
import type { RequestContext } from './context.js';
import type { CallResult, RequestPipeline, SubresourceCall, SubresourceHandler } from './pipeline.js';
import { applyPatchBody, type PatchType } from './patching.js';
import type { Registry } from './registry.js';
import { nowRFC3339 } from './registry.js';
import { evictPod } from './eviction.js';
import { jsonPathValue, setJsonPath } from './crd/jsonpath.js';

/** status, ephemeralcontainers, resize: the parent object, written through the kind's strategy with the subresource's rules. */
function objectSubresource(registry: Registry, subresource: string): SubresourceHandler {
  return {
    get: ({ resource, namespace, name }) => ({ code: 200, body: registry.get(resource, namespace, name), isObject: true }),
    update: async ({ ctx, resource, namespace, name }, body) => {
      const out = await registry.update(resource, namespace, name, body, ctx, subresource);
      return { code: 200, body: out.object, isObject: true };
    },
    patch: async ({ ctx, resource, namespace, name }, type, body) => {
      const out = await registry.patch(resource, namespace, name, type, body, ctx, subresource);
      return { code: 200, body: out.object, isObject: true };
    },
  };
}

// ---- scale --------------------------------------------------------------------------------------

const SCALE_RESOURCE = { group: 'autoscaling', version: 'v1', kind: 'Scale', plural: 'scale', singular: 'scale', namespaced: true, verbs: [] } as unknown as ResourceInfo;

function selectorString(resource: ResourceInfo, sel: unknown): string {
  if (!sel) return '';
  if (resource.kind === 'ReplicationController') {
    return Object.entries(sel as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
  }
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** The autoscaling/v1 Scale view of a workload. */
export function scaleOf(resource: ResourceInfo, obj: KubeObject): KubeObject {
  const custom = resource.custom?.version.subresources?.scale;
  if (custom) return customScaleOf(custom, obj);
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  const m = obj.metadata ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: selectorString(resource, spec.selector) },
  };
}

/** The Scale of a custom resource, read through the CRD's scale paths (upstream: customresource ScaleREST). */
function customScaleOf(paths: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string }, obj: KubeObject): KubeObject {
  const m = obj.metadata ?? {};
  const specReplicas = jsonPathValue(obj, paths.specReplicasPath);
  const statusReplicas = jsonPathValue(obj, paths.statusReplicasPath);
  const selector = paths.labelSelectorPath ? jsonPathValue(obj, paths.labelSelectorPath) : undefined;
  const status: Record<string, unknown> = { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0 };
  if (typeof selector === 'string' && selector) status.selector = selector;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
    status,
  };
}

function scaleSubresource(registry: Registry): SubresourceHandler {
  const write = async (call: SubresourceCall, change: (scale: KubeObject) => KubeObject, wantRV?: string): Promise<CallResult> => {
    const { resource, namespace, name, ctx } = call;
    const out = await registry.guaranteedUpdate(resource, namespace, name, async (cur) => {
      if (!cur) throw notFound(resource.group, resource.plural, name);
      if (wantRV && wantRV !== cur.metadata?.resourceVersion) {
        throw conflict(resource.group, resource.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      const after = change(scaleOf(resource, cur));
      const replicas = (after.spec as { replicas?: number } | undefined)?.replicas;
      if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
        throw registry.invalidError({ ...resource, kind: 'Scale', group: 'autoscaling' } as ResourceInfo, name, [
          { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` },
        ]);
      }
      const custom = resource.custom?.version.subresources?.scale;
      const next = custom ? structuredClone(cur) : { ...cur, spec: { ...(cur.spec as object), replicas } };
      if (custom) setJsonPath(next as Record<string, unknown>, custom.specReplicasPath, replicas);
      return registry.prepareUpdate(resource, cur, registry.present(resource, next), ctx, 'scale');
    }, { dryRun: ctx.dryRun, writer: ctx.writer });
    return { code: 200, body: scaleOf(resource, out.object), isObject: false };
  };
  return {
    get: ({ resource, namespace, name }) => ({ code: 200, body: scaleOf(resource, registry.get(resource, namespace, name)), isObject: false }),
    update: (call, body) => write(call, (scale) => ({ ...scale, spec: (body as { spec?: object }).spec }), body.metadata?.resourceVersion),
    patch: (call, type, body) => write(call, (scale) => patchScale(type, scale, body, call.ctx)),
  };
}

function patchScale(type: PatchType, scale: KubeObject, body: Buffer, ctx: RequestContext): KubeObject {
  if (type === 'apply') {
    const applied = parseYaml(body.toString('utf8')) as KubeObject;
    return { ...scale, spec: { ...(scale.spec as object), ...((applied.spec as object) ?? {}) } };
  }
  return applyPatchBody(SCALE_RESOURCE, type, scale, body, ctx);
}

// ---- binding, eviction, finalize ------------------------------------------------------------------

/** pods/binding (upstream BindingREST): set spec.nodeName and PodScheduled=True, once. */
async function bindPod(registry: Registry, namespace: string | undefined, name: string, body: KubeObject, ctx: RequestContext): Promise<void> {
  const pods = registry.resourceOf('', 'v1', 'pods');
  const target = (body as { target?: { kind?: string; name?: string } }).target;
  if (!target?.name) throw registry.invalidError(pods, name, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  await registry.guaranteedUpdate(
    pods,
    namespace,
    name,
    (pod) => {
      if (!pod) throw notFound('', 'pods', name);
      if (pod.metadata?.deletionTimestamp) throw conflict('', 'pods', name, 'pod is being deleted, cannot be assigned to a host');
      const spec = (pod.spec ??= {}) as { nodeName?: string };
      if (spec.nodeName) throw conflict('', 'pods', name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      spec.nodeName = target.name;
      const status = (pod.status ??= {}) as { conditions?: Record<string, unknown>[] };
      const conds = (status.conditions ??= []);
      const now = nowRFC3339();
      const existing = conds.find((c) => c.type === 'PodScheduled');
      if (!existing) conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now });
      else if (existing.status !== 'True') {
        existing.status = 'True';
        existing.lastTransitionTime = now;
        delete existing.reason;
        delete existing.message;
      }
      return pod;
    },
    // Only metadata (its resourceVersion is set after the write), spec.nodeName and the
    // conditions change: a copy of that path, not of the whole pod.
    { dryRun: ctx.dryRun, writer: ctx.writer, copy: (pod) => ({ ...pod, metadata: { ...pod.metadata }, spec: { ...(pod.spec as object) }, status: { ...(pod.status as object), conditions: ((pod.status as { conditions?: object[] } | undefined)?.conditions ?? []).map((c) => ({ ...c })) } }) },
  );
}

function finalizeNamespace(registry: Registry): SubresourceHandler {
  return {
    patch: objectSubresource(registry, 'finalize').patch,
    update: async ({ ctx, resource, name }, body) => {
      const want = ((body.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
      const out = await registry.guaranteedUpdate(resource, undefined, name, (ns) => {
        if (!ns) throw notFound('', 'namespaces', name);
        const spec = (ns.spec ??= {}) as { finalizers?: string[] };
        spec.finalizers = want;
        if (want.length === 0) delete spec.finalizers;
        return ns;
      }, { dryRun: ctx.dryRun, writer: ctx.writer });
      return { code: 200, body: registry.present(resource, out.object), isObject: true };
    },
  };
}

/** Register every built-in subresource on the pipeline. */
export function registerSubresources(pipeline: RequestPipeline): void {
  const registry = pipeline.registry;
  pipeline.handleSubresource('*/*/status', objectSubresource(registry, 'status'));
  pipeline.handleSubresource('/pods/ephemeralcontainers', objectSubresource(registry, 'ephemeralcontainers'));
  pipeline.handleSubresource('/pods/resize', objectSubresource(registry, 'resize'));
  pipeline.handleSubresource('*/*/scale', scaleSubresource(registry));
  pipeline.handleSubresource('/namespaces/finalize', finalizeNamespace(registry));
  pipeline.handleSubresource('certificates.k8s.io/certificatesigningrequests/approval', objectSubresource(registry, 'approval'));
  pipeline.handleSubresource('/pods/binding', {
    create: async ({ ctx, namespace, name }, body) => {
      await bindPod(registry, namespace, name, body, ctx);
      return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, isObject: false };
    },
  });
  pipeline.handleSubresource('/pods/eviction', {
    create: async ({ ctx, namespace, name }, body) => {
      if (!namespace) throw badRequest('an eviction needs a namespace');
      const status = await evictPod(registry, namespace, name, body, ctx);
      if (status.status === 'Failure') throw new StatusError(status.code ?? 500, status.reason ?? 'InternalError', status.message ?? '', status.details);
      return { code: status.code ?? 201, body: status, isObject: false };
    },
  });
}
