// The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount, as in
// Kubernetes 1.33). On pod create it names the `default` ServiceAccount when the pod names
// none, requires the ServiceAccount to exist, copies its imagePullSecrets to a pod that has
// none, and — unless the pod or the ServiceAccount opts out — mounts the projected
// `kube-api-access-xxxxx` volume (bound token, cluster CA, namespace) into every container
// and init container. Mirror pods are never changed, only refused when they reference
// ServiceAccounts or secrets.
import type { KubeObject } from '../../machinery/object.js';
import { forbiddenObject, type StatusError } from '../../machinery/status.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { generateName } from './index.js';
import { admissionName, arr, ensureObj, isObj, isSet, obj, str, strMap, type Obj } from './util.js';

export const DEFAULT_SERVICE_ACCOUNT_NAME = 'default';
export const DEFAULT_API_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const SERVICE_ACCOUNT_VOLUME_PREFIX = 'kube-api-access-';
const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION = 'kubernetes.io/enforce-mountable-secrets';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: 1 hour + 7 s. */
const TOKEN_EXPIRATION_SECONDS = 3607;

export interface ServiceAccountDeps {
  serviceAccount(ns: string, name: string): KubeObject | undefined;
  /**
   * How long to wait for a missing `default` ServiceAccount, which its controller creates
   * just after the namespace (upstream: 10 lookups, 100–200 ms apart).
   */
  defaultServiceAccountRetry?: { attempts: number; intervalMs: number };
}

/** The projected volume source upstream mounts (TokenVolumeSource), with its explicit default mode. */
export function tokenVolumeSource(): Obj {
  return {
    sources: [
      { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
    defaultMode: 420,
  };
}

/** strconv.ParseBool's true values (anything unparsable reads as false here). */
const TRUE_STRINGS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

function isMirrorPod(pod: Obj): boolean {
  return MIRROR_POD_ANNOTATION in strMap(obj(pod.metadata).annotations);
}

function shouldAutomount(sa: Obj, spec: Obj): boolean {
  // the pod's preference wins, then the ServiceAccount's; the default is to mount
  if (isSet(spec.automountServiceAccountToken)) return spec.automountServiceAccountToken === true;
  if (isSet(sa.automountServiceAccountToken)) return sa.automountServiceAccountToken === true;
  return true;
}

/** Mount the token volume into init containers and containers that have nothing at the path. */
function mountServiceAccountToken(spec: Obj): void {
  const volumes = arr(spec.volumes).map(obj);
  const existing = volumes.find((v) => str(v.name).startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
  const volumeName = existing ? str(existing.name) : generateName(SERVICE_ACCOUNT_VOLUME_PREFIX);
  let needsVolume = false;
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers)].map(obj)) {
    if (arr(c.volumeMounts).some((m) => obj(m).mountPath === DEFAULT_API_TOKEN_MOUNT_PATH)) continue;
    c.volumeMounts = [...arr(c.volumeMounts), { name: volumeName, readOnly: true, mountPath: DEFAULT_API_TOKEN_MOUNT_PATH }];
    needsVolume = true;
  }
  if (!existing && needsVolume) spec.volumes = [...arr(spec.volumes), { name: volumeName, projected: tokenVolumeSource() }];
}

/** Whether the pod names any secret (podutil.VisitPodSecretNames over all containers). */
function referencesSecrets(spec: Obj): boolean {
  if (arr(spec.imagePullSecrets).length) return true;
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)].map(obj)) {
    if (arr(c.envFrom).some((e) => isObj(obj(e).secretRef))) return true;
    if (arr(c.env).some((e) => isObj(obj(obj(e).valueFrom).secretKeyRef))) return true;
  }
  for (const v of arr(spec.volumes).map(obj)) {
    if (isObj(v.secret)) return true;
    if (isObj(v.azureFile) && str(v.azureFile.secretName)) return true;
    for (const source of ['cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'iscsi', 'storageos']) {
      if (isObj(v[source]) && isObj(obj(v[source]).secretRef)) return true;
    }
    if (isObj(v.csi) && isObj(v.csi.nodePublishSecretRef)) return true;
    if (isObj(v.projected) && arr(v.projected.sources).some((s) => isObj(obj(s).secret))) return true;
  }
  return false;
}

function usesTokenProjection(spec: Obj): boolean {
  return arr(spec.volumes).some((v) => arr(obj(obj(v).projected).sources).some((s) => isObj(obj(s).serviceAccountToken)));
}

type EnvSecretRef = { kind: 'env'; container: string; env: string; secret: string } | { kind: 'envFrom'; container: string; secret: string };

function envSecretRefs(containers: unknown): EnvSecretRef[] {
  const refs: EnvSecretRef[] = [];
  for (const c of arr(containers).map(obj)) {
    for (const e of arr(c.env).map(obj)) {
      const ref = obj(e.valueFrom).secretKeyRef;
      if (isObj(ref)) refs.push({ kind: 'env', container: str(c.name), env: str(e.name), secret: str(ref.name) });
    }
    for (const e of arr(c.envFrom).map(obj)) {
      if (isObj(e.secretRef)) refs.push({ kind: 'envFrom', container: str(c.name), secret: str(e.secretRef.name) });
    }
  }
  return refs;
}

/** The first env reference to a secret the ServiceAccount does not list, worded as upstream. */
function unlistedEnvSecret(containers: unknown, what: string, mountable: Set<string>, saName: string): string | undefined {
  for (const r of envSecretRefs(containers)) {
    if (mountable.has(r.secret)) continue;
    const via = r.kind === 'env' ? `envVar ${r.env}` : 'envFrom';
    return `${what} ${r.container} with ${via} referencing secret.secretName="${r.secret}" is not allowed because service account ${saName} does not reference that secret`;
  }
  return undefined;
}

function mountableSecrets(sa: Obj): Set<string> {
  return new Set(arr(sa.secrets).map((s) => str(obj(s).name)));
}

/** limitSecretReferences: a pod may only use the secrets its ServiceAccount lists. */
function limitSecretReferences(sa: Obj, spec: Obj): string | undefined {
  const saName = str(obj(sa.metadata).name);
  const mountable = mountableSecrets(sa);
  for (const v of arr(spec.volumes).map(obj)) {
    if (!isObj(v.secret)) continue;
    const name = str(v.secret.secretName);
    if (!mountable.has(name)) return `volume with secret.secretName="${name}" is not allowed because service account ${saName} does not reference that secret`;
  }
  const env = unlistedEnvSecret(spec.initContainers, 'init container', mountable, saName) ?? unlistedEnvSecret(spec.containers, 'container', mountable, saName);
  if (env) return env;
  const pullSecrets = new Set(arr(sa.imagePullSecrets).map((s) => str(obj(s).name)));
  const refs = arr(spec.imagePullSecrets).map(obj);
  for (let i = 0; i < refs.length; i++) {
    const name = str(refs[i].name);
    if (!pullSecrets.has(name)) return `imagePullSecrets[${i}].name="${name}" is not allowed because service account ${saName} does not reference that imagePullSecret`;
  }
  return undefined;
}

function enforceMountableSecrets(sa: Obj): boolean {
  const v = strMap(obj(sa.metadata).annotations)[ENFORCE_MOUNTABLE_SECRETS_ANNOTATION];
  return v !== undefined && TRUE_STRINGS.has(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function serviceAccountAdmission(deps: ServiceAccountDeps): AdmissionPlugin {
  const defaultRetry = deps.defaultServiceAccountRetry ?? { attempts: 10, intervalMs: 100 + Math.floor(Math.random() * 100) };

  const refuse = (req: AdmissionRequest, why: string): StatusError =>
    forbiddenObject(req.resource.group, req.resource.plural, admissionName(req), why);

  /** The ServiceAccount, waiting a little for `default`; a 403 naming the lookup when it is missing. */
  async function getServiceAccount(req: AdmissionRequest, name: string): Promise<Obj> {
    const attempts = name === DEFAULT_SERVICE_ACCOUNT_NAME ? Math.max(1, defaultRetry.attempts) : 1;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(defaultRetry.intervalMs);
      const sa = deps.serviceAccount(req.namespace, name);
      if (sa) return sa as Obj;
    }
    throw refuse(req, `error looking up service account ${req.namespace}/${name}: serviceaccount "${name}" not found`);
  }

  /** shouldIgnore: only pods (and their ephemeralcontainers subresource) with a body. */
  const applies = (req: AdmissionRequest): boolean =>
    req.resource.group === '' && req.resource.plural === 'pods' && (req.subresource === '' || req.subresource === 'ephemeralcontainers') && isObj(req.object);

  /** For a request that `applies`. */
  async function validatePod(req: AdmissionRequest): Promise<void> {
    const pod = req.object as Obj;
    const spec = obj(pod.spec);
    const podName = str(obj(pod.metadata).name);

    if (req.operation === 'UPDATE' && req.subresource === 'ephemeralcontainers') {
      const saName = str(spec.serviceAccountName);
      if (!saName) throw refuse(req, `no service account specified for pod ${req.namespace}/${podName}`);
      const sa = await getServiceAccount(req, saName);
      if (!enforceMountableSecrets(sa)) return;
      const why = unlistedEnvSecret(spec.ephemeralContainers, 'ephemeral container', mountableSecrets(sa), str(obj(sa.metadata).name));
      if (why) throw refuse(req, why);
      return;
    }
    if (req.operation !== 'CREATE') return;

    if (isMirrorPod(pod)) {
      if (str(spec.serviceAccountName)) throw refuse(req, 'a mirror pod may not reference service accounts');
      if (referencesSecrets(spec)) throw refuse(req, 'a mirror pod may not reference secrets');
      if (usesTokenProjection(spec)) throw refuse(req, 'a mirror pod may not use ServiceAccountToken volume projections');
      return;
    }
    const saName = str(spec.serviceAccountName);
    if (!saName) throw refuse(req, `no service account specified for pod ${req.namespace}/${podName}`);
    const sa = await getServiceAccount(req, saName);
    if (enforceMountableSecrets(sa)) {
      const why = limitSecretReferences(sa, spec);
      if (why) throw refuse(req, why);
    }
  }

  /** For a pod's create (`applies`). */
  async function admitPod(req: AdmissionRequest): Promise<void> {
    const pod = req.object as Obj;
    // a mirror pod's spec must stay what the kubelet wrote, or it deletes the pod
    if (isMirrorPod(pod)) return validatePod(req);
    const spec = ensureObj(pod, 'spec');
    if (!str(spec.serviceAccountName)) {
      spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT_NAME;
      spec.serviceAccount = DEFAULT_SERVICE_ACCOUNT_NAME; // the deprecated v1 alias mirrors it
    }
    const sa = await getServiceAccount(req, str(spec.serviceAccountName));
    if (shouldAutomount(sa, spec)) mountServiceAccountToken(spec);
    const saPullSecrets = arr(sa.imagePullSecrets);
    if (!arr(spec.imagePullSecrets).length && saPullSecrets.length) spec.imagePullSecrets = saPullSecrets.map((s) => ({ name: str(obj(s).name) }));
    return validatePod(req);
  }

  return {
    name: 'ServiceAccount',
    // Synchronous for a request that is not about a pod (see AdmissionChain).
    admit: (req) => (applies(req) && req.operation === 'CREATE' ? admitPod(req) : undefined),
    validate: (req) => (applies(req) ? validatePod(req) : undefined),
  };
}
