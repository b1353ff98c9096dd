// The Node authorizer (upstream: plugin/pkg/auth/authorizer/node) and the
// NodeRestriction admission plugin (plugin/pkg/admission/noderestriction).
//
// A kubelet authenticates as `system:node:<name>` in group `system:nodes`. It may read
// only the secrets, configmaps, claims, volumes and resource claims that pods bound to
// its node reference, mint tokens only for those pods' service accounts, and touch
// only its own Lease; everything else it may do is the static `system:node` rule set,
// evaluated here (upstream binds that ClusterRole to nobody). NodeRestriction then
// limits what a node writes to its own Node, its own pods and mirror pods.
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { AdmissionPlugin, AdmissionRequest } from '../admission/chain.js';
import type { UserInfo } from '../context.js';
import type { KubeObject } from '../../machinery/object.js';
import { jsonCopy, semanticEqual } from '../../machinery/object.js';
import { StatusError, notFound } from '../../machinery/status.js';
import type { Authorizer, Decision, PolicyRule, RequestAttributes } from './types.js';
import { goQuote, rulesAllow } from './rbac.js';
import { nodeRules } from './bootstrap-policy.js';
import { forbiddenFor } from './escalation.js';

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** upstream nodeidentifier: the node's name, '' when unidentifiable, undefined when not a node. */
export function nodeIdentity(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  return user.name.slice(NODE_USER_PREFIX.length);
}

/**
 * What the authorizer decides on (upstream's graph: vertices and edges, not objects): the
 * references of the pods bound to a node, the volume each claim is bound to, the secrets
 * each volume names, and the node each VolumeAttachment names.
 */
export interface NodeGraphSource {
  /** The distinct references of the pods bound to the node. */
  podReferencesOn(nodeName: string): Iterable<PodReferences>;
  /** The PersistentVolume a claim is bound to. */
  claimVolume(namespace: string, claim: string): string | undefined;
  /** Whether a PersistentVolume names the secret (a claim in `claimNamespace` stands for an unset namespace). */
  volumeNamesSecret(volume: string, claimNamespace: string, namespace: string, name: string): boolean;
  /** The node a VolumeAttachment names, when the cluster serves them. */
  volumeAttachmentNode?(name: string): string | undefined;
}

/** The names one pod references (its namespace's objects). Shared by the pods that reference the same names: never changed. */
export interface PodReferences {
  readonly namespace: string;
  readonly secrets: ReadonlySet<string>;
  readonly configMaps: ReadonlySet<string>;
  readonly claims: readonly string[];
  readonly serviceAccount: string;
  readonly resourceClaims: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const asArr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter((x) => asObj(x)) as Obj[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Volume sources that name a secret through `secretRef` (upstream VisitPodSecretNames). */
const SECRET_REF_VOLUMES = ['cephfs', 'cinder', 'flexVolume', 'iscsi', 'rbd', 'scaleIO', 'storageos'];

function containersOf(spec: Obj): Obj[] {
  return [...asArr(spec.initContainers), ...asArr(spec.containers), ...asArr(spec.ephemeralContainers)];
}

/** Every secret and configmap a pod spec names (env, envFrom, volumes, projections, pull secrets). */
export function podReferences(pod: Pod): PodReferences {
  const spec = asObj(pod.spec) ?? {};
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const claims: string[] = [];
  const resourceClaims = new Set<string>();
  const add = (set: Set<string>, name: unknown) => {
    if (typeof name === 'string' && name) set.add(name);
  };
  for (const s of asArr(spec.imagePullSecrets)) add(secrets, s.name);
  for (const c of containersOf(spec)) {
    for (const e of asArr(c.envFrom)) {
      add(secrets, asObj(e.secretRef)?.name);
      add(configMaps, asObj(e.configMapRef)?.name);
    }
    for (const e of asArr(c.env)) {
      const from = asObj(e.valueFrom);
      add(secrets, asObj(from?.secretKeyRef)?.name);
      add(configMaps, asObj(from?.configMapKeyRef)?.name);
    }
  }
  const podName = pod.metadata?.name ?? '';
  for (const v of asArr(spec.volumes)) {
    add(secrets, asObj(v.secret)?.secretName);
    add(configMaps, asObj(v.configMap)?.name);
    add(secrets, asObj(v.azureFile)?.secretName);
    add(secrets, asObj(asObj(v.csi)?.nodePublishSecretRef)?.name);
    for (const k of SECRET_REF_VOLUMES) add(secrets, asObj(asObj(v[k])?.secretRef)?.name);
    for (const src of asArr(asObj(v.projected)?.sources)) {
      add(secrets, asObj(src.secret)?.name);
      add(configMaps, asObj(src.configMap)?.name);
    }
    const claim = str(asObj(v.persistentVolumeClaim)?.claimName);
    if (claim) claims.push(claim);
    // A generic ephemeral volume's claim is named <pod>-<volume>.
    if (asObj(v.ephemeral)) claims.push(`${podName}-${str(v.name)}`);
  }
  for (const c of asArr(spec.resourceClaims)) add(resourceClaims, c.resourceClaimName);
  for (const c of asArr(asObj(pod.status)?.resourceClaimStatuses)) add(resourceClaims, c.resourceClaimName);
  return { namespace: pod.metadata?.namespace ?? '', secrets, configMaps, claims, serviceAccount: str(spec.serviceAccountName), resourceClaims };
}

/** A secret a PersistentVolume names; an empty namespace stands for the claim's. */
interface VolumeSecret {
  namespace: string;
  name: string;
}

/** Secrets a PersistentVolume names (upstream VisitPVSecretNames). */
function pvSecrets(pv: PersistentVolume): VolumeSecret[] {
  const spec = asObj(pv.spec) ?? {};
  const out: VolumeSecret[] = [];
  const add = (ref: unknown) => {
    const r = asObj(ref);
    if (r && str(r.name)) out.push({ namespace: str(r.namespace), name: str(r.name) });
  };
  const csi = asObj(spec.csi);
  if (csi) for (const k of ['nodePublishSecretRef', 'controllerPublishSecretRef', 'nodeStageSecretRef', 'controllerExpandSecretRef', 'nodeExpandSecretRef']) add(csi[k]);
  const azure = asObj(spec.azureFile);
  if (azure && str(azure.secretName)) out.push({ namespace: str(azure.secretNamespace), name: str(azure.secretName) });
  for (const k of SECRET_REF_VOLUMES) add(asObj(spec[k])?.secretRef);
  return out;
}

type VertexType = 'secret' | 'configmap' | 'pvc' | 'pv' | 'resourceclaim' | 'serviceaccount';

const noOpinion = (reason: string): Decision => ({ decision: 'noOpinion', reason });
const ALLOW: Decision = { decision: 'allow', reason: '' };

export class NodeAuthorizer implements Authorizer {
  private readonly rules: readonly PolicyRule[];

  constructor(private readonly graph: NodeGraphSource, rules: readonly PolicyRule[] = nodeRules()) {
    this.rules = rules;
  }

  authorize(attrs: RequestAttributes): Decision {
    const nodeName = nodeIdentity(attrs.user);
    if (nodeName === undefined) return noOpinion('');
    if (!nodeName) return noOpinion(`unknown node for user ${goQuote(attrs.user.name)}`);
    if (attrs.resourceRequest) {
      const g = attrs.apiGroup;
      switch (attrs.resource) {
        case 'secrets':
          if (g === '') return this.readNamespaced(nodeName, 'secret', attrs);
          break;
        case 'configmaps':
          if (g === '') return this.readNamespaced(nodeName, 'configmap', attrs);
          break;
        case 'persistentvolumeclaims':
          if (g === '') return attrs.subresource === 'status' ? this.statusUpdate(nodeName, 'pvc', attrs) : this.get(nodeName, 'pvc', attrs);
          break;
        case 'persistentvolumes':
          if (g === '') return this.get(nodeName, 'pv', attrs);
          break;
        case 'resourceclaims':
          if (g === 'resource.k8s.io') return this.get(nodeName, 'resourceclaim', attrs);
          break;
        case 'serviceaccounts':
          if (g === '') return this.createToken(nodeName, attrs);
          break;
        case 'leases':
          if (g === 'coordination.k8s.io') return this.lease(nodeName, attrs);
          break;
        case 'csinodes':
          if (g === 'storage.k8s.io') return this.csiNode(nodeName, attrs);
          break;
        case 'volumeattachments':
          if (g === 'storage.k8s.io') return this.volumeAttachment(nodeName, attrs);
          break;
      }
    }
    // Access to everything else is not subdivided: the static node rules decide.
    return rulesAllow(attrs, this.rules) ? ALLOW : noOpinion('');
  }

  private readNamespaced(nodeName: string, type: VertexType, attrs: RequestAttributes): Decision {
    if (attrs.verb !== 'get' && attrs.verb !== 'list' && attrs.verb !== 'watch') return noOpinion('can only read resources of this type');
    if (attrs.subresource) return noOpinion('cannot read subresource');
    if (!attrs.namespace) return noOpinion('can only read namespaced object of this type');
    return this.related(nodeName, type, attrs);
  }

  private get(nodeName: string, type: VertexType, attrs: RequestAttributes): Decision {
    if (attrs.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (attrs.subresource) return noOpinion('cannot get subresource');
    return this.related(nodeName, type, attrs);
  }

  private statusUpdate(nodeName: string, type: VertexType, attrs: RequestAttributes): Decision {
    if (attrs.verb !== 'update' && attrs.verb !== 'patch') return noOpinion('can only get/update/patch this type');
    if (attrs.subresource !== 'status') return noOpinion('can only update status subresource');
    return this.related(nodeName, type, attrs);
  }

  private createToken(nodeName: string, attrs: RequestAttributes): Decision {
    if (attrs.verb !== 'create' || !attrs.name) return noOpinion('can only create tokens for individual service accounts');
    if (attrs.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    return this.related(nodeName, 'serviceaccount', attrs);
  }

  private lease(nodeName: string, attrs: RequestAttributes): Decision {
    const verb = attrs.verb;
    if (verb !== 'get' && verb !== 'create' && verb !== 'update' && verb !== 'patch' && verb !== 'delete') return noOpinion('can only get, create, update, patch, or delete a node lease');
    if (attrs.namespace !== NODE_LEASE_NAMESPACE) return noOpinion(`can only access leases in the ${goQuote(NODE_LEASE_NAMESPACE)} system namespace`);
    // The name is unknown on create; NodeRestriction checks it there.
    if (verb !== 'create' && attrs.name !== nodeName) return noOpinion('can only access node lease with the same name as the requesting node');
    return ALLOW;
  }

  private csiNode(nodeName: string, attrs: RequestAttributes): Decision {
    const verb = attrs.verb;
    if (verb !== 'get' && verb !== 'create' && verb !== 'update' && verb !== 'patch' && verb !== 'delete') return noOpinion('can only get, create, update, patch, or delete a CSINode');
    if (attrs.subresource) return noOpinion('cannot authorize CSINode subresources');
    if (verb !== 'create' && attrs.name !== nodeName) return noOpinion('can only access CSINode with the same name as the requesting node');
    return ALLOW;
  }

  private volumeAttachment(nodeName: string, attrs: RequestAttributes): Decision {
    if (attrs.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (attrs.subresource) return noOpinion('cannot get subresource');
    if (!attrs.name) return noOpinion('No Object name found');
    return this.graph.volumeAttachmentNode?.(attrs.name) === nodeName ? ALLOW : noOpinion(`no relationship found between node '${nodeName}' and this object`);
  }

  private related(nodeName: string, type: VertexType, attrs: RequestAttributes): Decision {
    if (!attrs.name) return noOpinion('No Object name found');
    return this.hasPath(nodeName, type, attrs.namespace, attrs.name) ? ALLOW : noOpinion(`no relationship found between node '${nodeName}' and this object`);
  }

  /** Whether a pod bound to the node references the object (directly, or through its claims' volumes). */
  hasPath(nodeName: string, type: VertexType, namespace: string, name: string): boolean {
    for (const refs of this.graph.podReferencesOn(nodeName)) {
      const podNs = refs.namespace;
      if (type !== 'pv' && podNs !== namespace && type !== 'secret') continue;
      switch (type) {
        case 'secret':
          if (podNs === namespace && refs.secrets.has(name)) return true;
          for (const claim of refs.claims) {
            const volume = this.graph.claimVolume(podNs, claim);
            if (volume && this.graph.volumeNamesSecret(volume, podNs, namespace, name)) return true;
          }
          break;
        case 'configmap':
          if (refs.configMaps.has(name)) return true;
          break;
        case 'serviceaccount':
          if (refs.serviceAccount === name) return true;
          break;
        case 'resourceclaim':
          if (refs.resourceClaims.has(name)) return true;
          break;
        case 'pvc':
          if (refs.claims.includes(name)) return true;
          break;
        case 'pv':
          for (const claim of refs.claims) if (this.graph.claimVolume(podNs, claim) === name) return true;
          break;
      }
    }
    return false;
  }
}

// ---- NodeRestriction ------------------------------------------------------------

/** Labels a kubelet may set on its own Node (upstream k8s.io/kubelet/pkg/apis IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const NODE_RESTRICTION_LABEL_NAMESPACE = 'node-restriction.kubernetes.io';

function labelNamespace(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

const inDomain = (ns: string, domain: string) => ns === domain || ns.endsWith(`.${domain}`);

export function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((d) => inDomain(ns, d));
}

function modifiedLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): Set<string> {
  const out = new Set<string>();
  const x = a ?? {};
  const y = b ?? {};
  for (const k of Object.keys(x)) if (!(k in y) || x[k] !== y[k]) out.add(k);
  for (const k of Object.keys(y)) if (!(k in x) || x[k] !== y[k]) out.add(k);
  return out;
}

/** Sorted labels a node may not add, change or remove. */
export function forbiddenNodeLabels(modified: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const label of modified) {
    const ns = labelNamespace(label);
    if (inDomain(ns, NODE_RESTRICTION_LABEL_NAMESPACE)) out.add(label);
    if ((inDomain(ns, 'kubernetes.io') || inDomain(ns, 'k8s.io')) && !isKubeletLabel(label)) out.add(label);
  }
  return [...out].sort();
}

export interface NodeRestrictionDeps {
  pod(namespace: string, name: string): Pod | undefined;
  node(name: string): Node | undefined;
}

/** upstream admission.NewForbidden: the request's name, else the object's name or generateName, else "Unknown". */
function forbidden(req: AdmissionRequest, message: string): StatusError {
  const name = req.name || req.object?.metadata?.name || req.object?.metadata?.generateName || 'Unknown';
  return forbiddenFor(req.resource.group, req.resource.plural, name, message);
}

export function nodeRestrictionAdmission(deps: NodeRestrictionDeps): AdmissionPlugin {
  const admit = (req: AdmissionRequest): void => {
    if (req.operation === 'CONNECT') return;
    const nodeName = nodeIdentity(req.user);
    if (nodeName === undefined) return;
    if (!nodeName) throw forbidden(req, `could not determine node from user ${goQuote(req.user.name)}`);
    const group = req.resource.group;
    const resource = req.resource.plural;
    if (group === '' && resource === 'pods') {
      if (req.subresource === '') return admitPod(deps, nodeName, req);
      if (req.subresource === 'status') return admitPodStatus(nodeName, req);
      if (req.subresource === 'eviction') return admitPodEviction(deps, nodeName, req);
      throw forbidden(req, `unexpected pod subresource ${goQuote(req.subresource)}, only 'status' and 'eviction' are allowed`);
    }
    if (group === '' && resource === 'nodes') return admitNode(nodeName, req);
    if (group === '' && resource === 'persistentvolumeclaims') {
      if (req.subresource === 'status') return admitPVCStatus(nodeName, req);
      throw forbidden(req, 'may only update PVC status');
    }
    if (group === '' && resource === 'serviceaccounts') return admitServiceAccount(deps, nodeName, req);
    if (group === 'coordination.k8s.io' && resource === 'leases') return admitNamed(nodeName, req, 'node lease', true);
    if (group === 'storage.k8s.io' && resource === 'csinodes') return admitNamed(nodeName, req, 'CSINode', false);
  };
  return { name: 'NodeRestriction', admit };
}

function requestOrObjectName(req: AdmissionRequest): string {
  return req.operation === 'CREATE' ? req.object?.metadata?.name || req.name : req.name;
}

function admitPod(deps: NodeRestrictionDeps, nodeName: string, req: AdmissionRequest): void {
  if (req.operation === 'CREATE') return admitMirrorPodCreate(deps, nodeName, req);
  if (req.operation === 'DELETE') {
    const existing = deps.pod(req.namespace, req.name);
    if (!existing) throw notFound('', 'pod', req.name);
    if (existing.spec?.nodeName !== nodeName) throw forbidden(req, `node ${goQuote(nodeName)} can only delete pods with spec.nodeName set to itself`);
    return;
  }
  throw forbidden(req, `unexpected operation ${goQuote(req.operation)}, node ${goQuote(nodeName)} can only create and delete mirror pods`);
}

function admitMirrorPodCreate(deps: NodeRestrictionDeps, nodeName: string, req: AdmissionRequest): void {
  const pod = req.object as Pod | undefined;
  if (!pod) throw forbidden(req, 'unexpected type <nil>');
  const q = goQuote(nodeName);
  if (!pod.metadata?.annotations || !(MIRROR_POD_ANNOTATION in pod.metadata.annotations)) {
    throw forbidden(req, `pod does not have ${goQuote(MIRROR_POD_ANNOTATION)} annotation, node ${q} can only create mirror pods`);
  }
  if (pod.spec?.nodeName !== nodeName) throw forbidden(req, `node ${q} can only create pods with spec.nodeName set to itself`);
  const owners = pod.metadata.ownerReferences ?? [];
  if (owners.length > 1) throw forbidden(req, `node ${q} can only create pods with a single owner reference set to itself`);
  if (owners.length === 0) throw forbidden(req, `node ${q} can only create pods with an owner reference set to itself`);
  const owner = owners[0];
  if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) throw forbidden(req, `node ${q} can only create pods with an owner reference set to itself`);
  if (!owner.controller) throw forbidden(req, `node ${q} can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion) throw forbidden(req, `node ${q} must not set blockOwnerDeletion on an owner reference`);
  const node = deps.node(nodeName);
  if (!node) throw notFound('', 'node', nodeName);
  if (owner.uid !== node.metadata?.uid) throw forbidden(req, `node ${nodeName} UID mismatch: expected ${owner.uid} got ${node.metadata?.uid ?? ''}`);
  const spec = pod.spec as unknown as Obj;
  if (str(spec.serviceAccountName)) throw forbidden(req, `node ${q} can not create pods that reference a service account`);
  const refs = podReferences(pod);
  if (refs.secrets.size) throw forbidden(req, `node ${q} can not create pods that reference secrets`);
  if (refs.configMaps.size) throw forbidden(req, `node ${q} can not create pods that reference configmaps`);
  for (const v of asArr(spec.volumes)) {
    for (const src of asArr(asObj(v.projected)?.sources)) if (asObj(src.clusterTrustBundle)) throw forbidden(req, `node ${q} can not create pods that reference clustertrustbundles`);
  }
  for (const v of asArr(spec.volumes)) if (asObj(v.persistentVolumeClaim)) throw forbidden(req, `node ${q} can not create pods that reference persistentvolumeclaims`);
}

function admitPodStatus(nodeName: string, req: AdmissionRequest): void {
  if (req.operation !== 'UPDATE') throw forbidden(req, `unexpected operation ${goQuote(req.operation)}`);
  const oldPod = req.oldObject as Pod | undefined;
  const newPod = req.object as Pod | undefined;
  if (!oldPod || !newPod) throw forbidden(req, 'unexpected type <nil>');
  if (oldPod.spec?.nodeName !== nodeName) throw forbidden(req, `node ${goQuote(nodeName)} can only update pod status for pods with spec.nodeName set to itself`);
  if (modifiedLabels(oldPod.metadata?.labels, newPod.metadata?.labels).size) throw forbidden(req, `node ${goQuote(nodeName)} cannot update labels through pod status`);
  const a = oldPod.status?.resourceClaimStatuses ?? [];
  const b = newPod.status?.resourceClaimStatuses ?? [];
  if (a.length !== b.length || a.some((s, i) => s.name !== b[i].name || (s.resourceClaimName ?? null) !== (b[i].resourceClaimName ?? null))) {
    throw forbidden(req, `node ${goQuote(nodeName)} cannot update resource claim statues`);
  }
}

function admitPodEviction(deps: NodeRestrictionDeps, nodeName: string, req: AdmissionRequest): void {
  if (req.operation !== 'CREATE') throw forbidden(req, `unexpected operation ${req.operation}`);
  const podName = req.name || req.object?.metadata?.name || '';
  if (!podName) throw forbidden(req, 'could not determine pod from request data');
  const existing = deps.pod(req.namespace, podName);
  if (!existing) throw notFound('', 'pod', podName);
  if (existing.spec?.nodeName !== nodeName) throw forbidden(req, `node ${nodeName} can only evict pods with spec.nodeName set to itself`);
}

function admitPVCStatus(nodeName: string, req: AdmissionRequest): void {
  if (req.operation !== 'UPDATE') throw forbidden(req, `unexpected operation ${goQuote(req.operation)}`);
  if (!req.oldObject || !req.object) throw forbidden(req, 'unexpected type <nil>');
  const strip = (o: KubeObject) => {
    const c = jsonCopy(o);
    if (c.metadata) {
      delete c.metadata.resourceVersion;
      delete c.metadata.managedFields;
    }
    const status = asObj(c.status);
    if (status) {
      // Capacity, conditions and (RecoverVolumeExpansionFailure, on by default) the allocation fields.
      for (const k of ['capacity', 'conditions', 'allocatedResourceStatuses', 'allocatedResources']) delete status[k];
    }
    return c;
  };
  const a = strip(req.oldObject);
  const b = strip(req.object);
  if (!semanticEqual(a, b)) {
    const changed = ['metadata', 'spec', 'status'].filter((k) => !semanticEqual(a[k], b[k]));
    throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to update fields other than status.capacity and status.conditions: ${changed.join(', ')} changed`);
  }
}

function admitNode(nodeName: string, req: AdmissionRequest): void {
  const requested = requestOrObjectName(req);
  if (requested !== nodeName) throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to modify node ${goQuote(requested)}`);
  const node = req.object as Node | undefined;
  if (req.operation === 'CREATE') {
    if (!node) throw forbidden(req, 'unexpected type <nil>');
    if ((node.spec as Obj | undefined)?.configSource) throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenNodeLabels(modifiedLabels(node.metadata?.labels, undefined));
    if (bad.length) throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to set the following labels: ${bad.join(', ')}`);
  }
  if (req.operation === 'UPDATE') {
    const old = req.oldObject as Node | undefined;
    if (!node || !old) throw forbidden(req, 'unexpected type <nil>');
    const cs = (node.spec as Obj | undefined)?.configSource;
    if (cs && !semanticEqual(cs, (old.spec as Obj | undefined)?.configSource)) throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to update configSource to a new non-nil configSource`);
    if (!semanticEqual(node.spec?.taints, old.spec?.taints)) throw forbidden(req, `node ${goQuote(nodeName)} is not allowed to modify taints`);
    const bad = forbiddenNodeLabels(modifiedLabels(node.metadata?.labels, old.metadata?.labels));
    if (bad.length) throw forbidden(req, `is not allowed to modify labels: ${bad.join(', ')}`);
  }
}

function admitServiceAccount(deps: NodeRestrictionDeps, nodeName: string, req: AdmissionRequest): void {
  if (req.operation !== 'CREATE' || req.subresource !== 'token') return;
  const spec = asObj(req.object?.spec);
  const ref = asObj(spec?.boundObjectRef);
  if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !str(ref.name)) throw forbidden(req, 'node requested token not bound to a pod');
  if (!str(ref.uid)) throw forbidden(req, 'node requested token with a pod binding without a uid');
  const pod = deps.pod(req.namespace, str(ref.name));
  if (!pod) throw notFound('', 'pod', str(ref.name));
  if (str(ref.uid) !== pod.metadata?.uid) throw forbidden(req, `the UID in the bound object reference (${str(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`);
  if (pod.spec?.nodeName !== nodeName) throw forbidden(req, 'node requested token bound to a pod scheduled on a different node');
}

/** Leases (only in kube-node-lease) and CSINodes: only the node's own. */
function admitNamed(nodeName: string, req: AdmissionRequest, what: string, leaseNamespace: boolean): void {
  if (leaseNamespace && req.namespace !== NODE_LEASE_NAMESPACE) throw forbidden(req, `can only access leases in the ${goQuote(NODE_LEASE_NAMESPACE)} system namespace`);
  if (requestOrObjectName(req) !== nodeName) throw forbidden(req, `can only access ${what} with the same name as the requesting node`);
}

// ---- a ready NodeGraphSource fed by watch events --------------------------------

/** A canonical form of a pod's references: pods with equal keys share one PodReferences. */
function referencesKey(r: PodReferences): string {
  const sorted = (names: Iterable<string>) => [...names].sort();
  return JSON.stringify([r.namespace, sorted(r.secrets), sorted(r.configMaps), r.claims, r.serviceAccount, sorted(r.resourceClaims)]);
}

/**
 * The graph kept from watch events: for each bound pod only the node and its references
 * (shared by the pods that reference the same names, as a ReplicaSet's pods do), counted
 * per node; claims by the volume they are bound to; volumes by the secrets they name.
 * No object is held but each bound pod's current spec, which the watch cache holds too,
 * so the graph's size follows the pods' count, not their size.
 */
export class NodeGraphCache implements NodeGraphSource {
  /**
   * Each bound pod (namespace/name): its node, its references and, when they follow from
   * it alone (no resource claim statuses), the spec object they were found in: the one
   * the watch cache holds for the pod's current version, so holding it costs nothing.
   */
  private readonly bound = new Map<string, { node: string; refs: PodReferences; spec: object | undefined }>();
  /** For each node, its pods' distinct references and how many pods hold each. */
  private readonly byNode = new Map<string, Map<PodReferences, number>>();
  /** Distinct references by canonical key, and how many pods hold each. */
  private readonly shared = new Map<string, { refs: PodReferences; pods: number }>();
  private readonly claimVolumes = new Map<string, string>();
  private readonly volumeSecrets = new Map<string, VolumeSecret[]>();
  private readonly attachmentNodes = new Map<string, string>();

  podReferencesOn(nodeName: string): Iterable<PodReferences> {
    return this.byNode.get(nodeName)?.keys() ?? [];
  }
  claimVolume(namespace: string, claim: string): string | undefined {
    return this.claimVolumes.get(`${namespace}/${claim}`);
  }
  volumeNamesSecret(volume: string, claimNamespace: string, namespace: string, name: string): boolean {
    return this.volumeSecrets.get(volume)?.some((s) => s.name === name && (s.namespace || claimNamespace) === namespace) ?? false;
  }
  volumeAttachmentNode(name: string): string | undefined {
    return this.attachmentNodes.get(name);
  }

  upsertPod(pod: Pod): void {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    const node = pod.spec?.nodeName ?? '';
    // The references follow from the spec, the name (in the key) and the resource claim
    // statuses. A status or metadata write keeps the spec object (the watch cache shares it
    // between versions): on the same node, without claim statuses, nothing to refile.
    const spec = pod.status?.resourceClaimStatuses ? undefined : pod.spec;
    if (node && spec) {
      const was = this.bound.get(key);
      if (was && was.node === node && was.spec === spec) return;
    }
    this.unfile(key);
    if (!node) return;
    const refs = this.intern(podReferences(pod));
    this.bound.set(key, { node, refs, spec });
    let counts = this.byNode.get(node);
    if (!counts) this.byNode.set(node, (counts = new Map()));
    counts.set(refs, (counts.get(refs) ?? 0) + 1);
  }

  deletePod(pod: Pod): void {
    this.unfile(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
  }

  /** Bound pods on a node (for tests and diagnostics). */
  podCountOn(nodeName: string): number {
    let n = 0;
    for (const count of this.byNode.get(nodeName)?.values() ?? []) n += count;
    return n;
  }

  private intern(refs: PodReferences): PodReferences {
    const key = referencesKey(refs);
    const entry = this.shared.get(key);
    if (entry) {
      entry.pods++;
      return entry.refs;
    }
    this.shared.set(key, { refs, pods: 1 });
    return refs;
  }

  private unfile(key: string): void {
    const was = this.bound.get(key);
    if (!was) return;
    this.bound.delete(key);
    const counts = this.byNode.get(was.node)!;
    const left = counts.get(was.refs)! - 1;
    if (left > 0) counts.set(was.refs, left);
    else counts.delete(was.refs);
    if (counts.size === 0) this.byNode.delete(was.node);
    const sharedKey = referencesKey(was.refs);
    const entry = this.shared.get(sharedKey)!;
    if (--entry.pods === 0) this.shared.delete(sharedKey);
  }

  upsertPVC(pvc: PersistentVolumeClaim): void {
    const key = `${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`;
    const volume = pvc.spec?.volumeName;
    if (volume) this.claimVolumes.set(key, volume);
    else this.claimVolumes.delete(key);
  }
  deletePVC(pvc: PersistentVolumeClaim): void {
    this.claimVolumes.delete(`${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`);
  }
  upsertPV(pv: PersistentVolume): void {
    this.volumeSecrets.set(pv.metadata?.name ?? '', pvSecrets(pv));
  }
  deletePV(pv: PersistentVolume): void {
    this.volumeSecrets.delete(pv.metadata?.name ?? '');
  }
  upsertVolumeAttachment(va: KubeObject): void {
    const node = (va.spec as { nodeName?: string } | undefined)?.nodeName;
    if (node) this.attachmentNodes.set(va.metadata?.name ?? '', node);
    else this.attachmentNodes.delete(va.metadata?.name ?? '');
  }
  deleteVolumeAttachment(va: KubeObject): void {
    this.attachmentNodes.delete(va.metadata?.name ?? '');
  }
}
