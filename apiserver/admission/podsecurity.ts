// The PodSecurity admission plugin (k8s.io/pod-security-admission, as in Kubernetes 1.33):
// namespaces choose a Pod Security Standards level per mode with the labels
// `pod-security.kubernetes.io/{enforce,audit,warn}[-version]`; pods are rejected when they
// violate the enforce level, and pods and pod templates draw warnings for the warn level.
// kite keeps no audit log, so the audit mode is parsed and validated but produces nothing.
//
// Checks read v1 JSON the way the Go checks read typed structs: a pointer field is "set"
// when present and not null, a plain bool or number reads as its zero value when absent.
import type { KubeObject } from '../../machinery/object.js';
import { forbiddenObject, internalError, invalid as invalidStatus, type StatusError } from '../../machinery/status.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { goQuote, invalid, key, type Cause } from './field.js';
import { admissionName, arr, isObj, isSet, num, obj, str, strMap, type Obj } from './util.js';

// ---- levels, versions, policies (pod-security-admission/api) ------------------------------

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];
const LEVEL_RANK: Record<PodSecurityLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** `latest`, or `v1.<minor>` (the policies only ever had major version 1). */
export interface PolicyVersion {
  latest: boolean;
  minor: number;
}

export interface LevelVersion {
  level: PodSecurityLevel;
  version: PolicyVersion;
}

export interface PodSecurityPolicy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

const LATEST: PolicyVersion = { latest: true, minor: 0 };
const LABEL_PREFIX = 'pod-security.kubernetes.io/';
export const ENFORCE_LEVEL_LABEL = `${LABEL_PREFIX}enforce`;
export const ENFORCE_VERSION_LABEL = `${LABEL_PREFIX}enforce-version`;
export const AUDIT_LEVEL_LABEL = `${LABEL_PREFIX}audit`;
export const AUDIT_VERSION_LABEL = `${LABEL_PREFIX}audit-version`;
export const WARN_LEVEL_LABEL = `${LABEL_PREFIX}warn`;
export const WARN_VERSION_LABEL = `${LABEL_PREFIX}warn-version`;

export function versionString(v: PolicyVersion): string {
  return v.latest ? 'latest' : `v1.${v.minor}`;
}

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

function sameVersion(a: PolicyVersion, b: PolicyVersion): boolean {
  return a.latest === b.latest && a.minor === b.minor;
}

function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && sameVersion(a.version, b.version);
}

/** LevelVersion.Equivalent: both privileged (any version), or equal. */
function equivalentLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === 'privileged' && b.level === 'privileged') || sameLevelVersion(a, b);
}

function fullyPrivileged(p: PodSecurityPolicy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged';
}

/** api.CompareLevels: >0 when a is stricter than b. */
export function compareLevels(a: PodSecurityLevel, b: PodSecurityLevel): number {
  return Math.sign(LEVEL_RANK[a] - LEVEL_RANK[b]);
}

/** api.ParseLevel: an unknown level reads as restricted (fail closed) plus an error. */
export function parseLevel(s: string): { level: PodSecurityLevel; error?: string } {
  if ((LEVELS as readonly string[]).includes(s)) return { level: s as PodSecurityLevel };
  return { level: 'restricted', error: `must be one of ${LEVELS.join(', ')}` };
}

const VERSION_RE = /^v1\.([0-9]|[1-9][0-9]*)$/;
const INT64_MAX = 9223372036854775807n;

/** api.ParseVersion: `latest` or `v1.N`; anything else reads as latest plus an error. */
export function parseVersion(s: string): { version: PolicyVersion; error?: string } {
  if (s === 'latest') return { version: LATEST };
  const m = VERSION_RE.exec(s);
  // strconv.Atoi rejects what does not fit an int64
  if (!m || BigInt(m[1]) > INT64_MAX) return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  return { version: { latest: false, minor: Number(m[1]) } };
}

const LABELS_PATH = 'metadata.labels';

/**
 * api.PolicyToEvaluate: the namespace's labels over the defaults. A usable policy is always
 * returned; bad labels also yield field errors (enforce fails closed, audit and warn open).
 */
export function policyToEvaluate(labels: Record<string, string>, defaults: PodSecurityPolicy): { policy: PodSecurityPolicy; errors: Cause[] } {
  const p: PodSecurityPolicy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: Cause[] = [];
  if (Object.keys(labels).length === 0) return { policy: p, errors };
  const fail = (label: string, value: string, error: string | undefined) => {
    if (error) errors.push(invalid(key(LABELS_PATH, label), value, error));
  };
  let hasEnforceLevel = false;
  let hasWarnLevel = false;
  let hasWarnVersion = false;
  if (ENFORCE_LEVEL_LABEL in labels) {
    const v = labels[ENFORCE_LEVEL_LABEL];
    const r = parseLevel(v);
    p.enforce.level = r.level;
    hasEnforceLevel = !r.error; // an invalid enforce level does not raise warn
    fail(ENFORCE_LEVEL_LABEL, v, r.error);
  }
  if (ENFORCE_VERSION_LABEL in labels) {
    const v = labels[ENFORCE_VERSION_LABEL];
    const r = parseVersion(v);
    p.enforce.version = r.version;
    fail(ENFORCE_VERSION_LABEL, v, r.error);
  }
  if (AUDIT_LEVEL_LABEL in labels) {
    const v = labels[AUDIT_LEVEL_LABEL];
    const r = parseLevel(v);
    p.audit.level = r.error ? 'privileged' : r.level;
    fail(AUDIT_LEVEL_LABEL, v, r.error);
  }
  if (AUDIT_VERSION_LABEL in labels) {
    const v = labels[AUDIT_VERSION_LABEL];
    const r = parseVersion(v);
    p.audit.version = r.version;
    fail(AUDIT_VERSION_LABEL, v, r.error);
  }
  if (WARN_LEVEL_LABEL in labels) {
    hasWarnLevel = true;
    const v = labels[WARN_LEVEL_LABEL];
    const r = parseLevel(v);
    p.warn.level = r.error ? 'privileged' : r.level;
    fail(WARN_LEVEL_LABEL, v, r.error);
  }
  if (WARN_VERSION_LABEL in labels) {
    hasWarnVersion = true;
    const v = labels[WARN_VERSION_LABEL];
    const r = parseVersion(v);
    p.warn.version = r.version;
    fail(WARN_VERSION_LABEL, v, r.error);
  }
  // warn follows an explicitly set, stricter enforce level
  if (!hasWarnLevel && hasEnforceLevel && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (!hasWarnVersion) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors };
}

// ---- checks (pod-security-admission/policy) ------------------------------------------------

export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
}

/** Evaluation options that are not part of the policy version. */
export interface CheckOptions {
  /** The UserNamespacesPodSecurityStandards feature: hostUsers=false pods skip the user checks. */
  relaxForUserNamespacePods?: boolean;
}

type CheckFn = (meta: Obj, spec: Obj, opts: CheckOptions) => CheckResult;

interface VersionedCheck {
  /** The policy version (v1.<minimum>) from which this implementation applies. */
  minimum: number;
  check: CheckFn;
  /** Baseline checks this restricted check replaces at this version. */
  overrides?: readonly string[];
}

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  versions: readonly VersionedCheck[];
}

const ALLOWED: CheckResult = { allowed: true };

function forbid(reason: string, detail: string): CheckResult {
  return { allowed: false, forbiddenReason: reason, forbiddenDetail: detail };
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** `"a", "b"` — names are not escaped, as upstream's joinQuote. */
function joinQuote(items: readonly string[]): string {
  return items.length ? `"${items.join('", "')}"` : '';
}

function sortedSet(items: Iterable<string>): string[] {
  return [...new Set(items)].sort();
}

function containersPhrase(names: readonly string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

/** Init containers, then containers, then ephemeral containers (visitContainers). */
function allContainers(spec: Obj): Obj[] {
  return [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)].map(obj);
}

function securityContext(c: Obj): Obj | undefined {
  return isObj(c.securityContext) ? c.securityContext : undefined;
}

function podSecurityContext(spec: Obj): Obj | undefined {
  return isObj(spec.securityContext) ? spec.securityContext : undefined;
}

function isWindows(spec: Obj): boolean {
  return str(obj(spec.os).name) === 'windows';
}

function relaxedUserNamespacePod(spec: Obj, opts: CheckOptions): boolean {
  return opts.relaxForUserNamespacePods === true && spec.hostUsers === false;
}

function hostProcess(_meta: Obj, spec: Obj): CheckResult {
  const bad = allContainers(spec)
    .filter((c) => obj(securityContext(c)?.windowsOptions).hostProcess === true)
    .map((c) => str(c.name));
  const setters: string[] = [];
  if (obj(podSecurityContext(spec)?.windowsOptions).hostProcess === true) setters.push('pod');
  if (bad.length) setters.push(containersPhrase(bad));
  if (!setters.length) return ALLOWED;
  return forbid('hostProcess', `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`);
}

function hostNamespaces(_meta: Obj, spec: Obj): CheckResult {
  const used: string[] = [];
  if (spec.hostNetwork === true) used.push('hostNetwork=true');
  if (spec.hostPID === true) used.push('hostPID=true');
  if (spec.hostIPC === true) used.push('hostIPC=true');
  return used.length ? forbid('host namespaces', used.join(', ')) : ALLOWED;
}

function privileged(_meta: Obj, spec: Obj): CheckResult {
  const bad = allContainers(spec)
    .filter((c) => securityContext(c)?.privileged === true)
    .map((c) => str(c.name));
  return bad.length ? forbid('privileged', `${containersPhrase(bad)} must not set securityContext.privileged=true`) : ALLOWED;
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function capabilitiesBaseline(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const caps: string[] = [];
  for (const c of allContainers(spec)) {
    const capabilities = securityContext(c)?.capabilities;
    if (!isObj(capabilities)) continue;
    const extra = arr(capabilities.add).map(str).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (extra.length) {
      bad.push(str(c.name));
      caps.push(...extra);
    }
  }
  if (!bad.length) return ALLOWED;
  return forbid('non-default capabilities', `${containersPhrase(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
}

/** From v1.25 pods with spec.os.name=windows are exempt (those fields are Linux-only). */
const capabilitiesRestricted = (windowsExempt: boolean): CheckFn => (_meta, spec) => {
  if (windowsExempt && isWindows(spec)) return ALLOWED;
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCaps: string[] = [];
  for (const c of allContainers(spec)) {
    const capabilities = securityContext(c)?.capabilities;
    if (!isObj(capabilities)) {
      missingDropAll.push(str(c.name));
      continue;
    }
    if (!arr(capabilities.drop).some((cap) => cap === 'ALL')) missingDropAll.push(str(c.name));
    const extra = arr(capabilities.add).map(str).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length) {
      addingForbidden.push(str(c.name));
      forbiddenCaps.push(...extra);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (addingForbidden.length) details.push(`${containersPhrase(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCaps))} in securityContext.capabilities.add`);
  return details.length ? forbid('unrestricted capabilities', details.join('; ')) : ALLOWED;
};

function hostPathVolumes(_meta: Obj, spec: Obj): CheckResult {
  const bad = arr(spec.volumes)
    .map(obj)
    .filter((v) => isSet(v.hostPath))
    .map((v) => str(v.name));
  return bad.length ? forbid('hostPath volumes', `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)}`) : ALLOWED;
}

function hostPorts(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of allContainers(spec)) {
    const used = arr(c.ports)
      .map((p) => num(obj(p).hostPort))
      .filter((p) => p !== 0);
    if (used.length) {
      bad.push(str(c.name));
      ports.push(...used.map(String));
    }
  }
  if (!bad.length) return ALLOWED;
  const portList = sortedSet(ports); // sorted as strings, as upstream's string set
  return forbid(
    'hostPort',
    `${containersPhrase(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', portList.length)} ${portList.join(', ')}`,
  );
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function appArmorAnnotationAllowed(profile: string): boolean {
  return profile === '' || profile === 'runtime/default' || profile.startsWith('localhost/');
}

function appArmorTypeAllowed(type: unknown): boolean {
  return type === 'RuntimeDefault' || type === 'Localhost';
}

function appArmorProfile(meta: Obj, spec: Obj): CheckResult {
  const setters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = podSecurityContext(spec)?.appArmorProfile;
  if (isObj(podProfile) && !appArmorTypeAllowed(podProfile.type)) {
    setters.push('pod');
    badValues.add(str(podProfile.type));
  }
  const badContainers: string[] = [];
  for (const c of allContainers(spec)) {
    const profile = securityContext(c)?.appArmorProfile;
    if (isObj(profile) && !appArmorTypeAllowed(profile.type)) {
      badContainers.push(str(c.name));
      badValues.add(str(profile.type));
    }
  }
  if (badContainers.length) setters.push(containersPhrase(badContainers));
  const badAnnotations: string[] = [];
  for (const [k, v] of Object.entries(strMap(meta.annotations))) {
    if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !appArmorAnnotationAllowed(v)) badAnnotations.push(`${k}=${goQuote(v)}`);
  }
  const values = [...badValues].sort();
  if (badAnnotations.length) {
    values.push(...badAnnotations.sort());
    setters.push(pluralize('annotation', 'annotations', badAnnotations.length));
  }
  if (!setters.length) return ALLOWED;
  return forbid(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

const seLinuxOptions = (allowedTypes: ReadonlySet<string>): CheckFn => (_meta, spec) => {
  const setters: string[] = [];
  const badTypes = new Set<string>();
  let setUser = false;
  let setRole = false;
  const valid = (opts: Obj): boolean => {
    let ok = true;
    const type = str(opts.type);
    if (!allowedTypes.has(type)) {
      ok = false;
      badTypes.add(type);
    }
    if (str(opts.user)) {
      ok = false;
      setUser = true;
    }
    if (str(opts.role)) {
      ok = false;
      setRole = true;
    }
    return ok;
  };
  const podOpts = podSecurityContext(spec)?.seLinuxOptions;
  if (isObj(podOpts) && !valid(podOpts)) setters.push('pod');
  const badContainers: string[] = [];
  for (const c of allContainers(spec)) {
    const opts = securityContext(c)?.seLinuxOptions;
    if (isObj(opts) && !valid(opts)) badContainers.push(str(c.name));
  }
  if (badContainers.length) setters.push(containersPhrase(badContainers));
  if (!setters.length) return ALLOWED;
  const data: string[] = [];
  if (badTypes.size) data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote([...badTypes].sort())}`);
  if (setUser) data.push('user may not be set');
  if (setRole) data.push('role may not be set');
  return forbid('seLinuxOptions', `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
};

function procMount(_meta: Obj, spec: Obj, opts: CheckOptions): CheckResult {
  if (relaxedUserNamespacePod(spec, opts)) return ALLOWED;
  const bad: string[] = [];
  const types: string[] = [];
  for (const c of allContainers(spec)) {
    const pm = securityContext(c)?.procMount;
    if (!isSet(pm) || pm === 'Default') continue;
    bad.push(str(c.name));
    types.push(str(pm));
  }
  if (!bad.length) return ALLOWED;
  return forbid('procMount', `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`);
}

function seccompTypeAllowed(type: unknown): boolean {
  return type === 'Localhost' || type === 'RuntimeDefault';
}

/** Explicitly bad seccomp profiles (pod and containers), plus containers that set none. */
function seccompFindings(spec: Obj): { setters: string[]; values: string[]; podSet: boolean; unset: string[] } {
  const setters: string[] = [];
  const values = new Set<string>();
  let podSet = false;
  const podProfile = podSecurityContext(spec)?.seccompProfile;
  if (isObj(podProfile)) {
    if (!seccompTypeAllowed(podProfile.type)) {
      setters.push('pod');
      values.add(str(podProfile.type));
    } else podSet = true;
  }
  const bad: string[] = [];
  const unset: string[] = [];
  for (const c of allContainers(spec)) {
    const profile = securityContext(c)?.seccompProfile;
    if (isObj(profile)) {
      if (!seccompTypeAllowed(profile.type)) {
        bad.push(str(c.name));
        values.add(str(profile.type));
      }
    } else if (!podSet) unset.push(str(c.name));
  }
  if (bad.length) setters.push(containersPhrase(bad));
  return { setters, values: [...values].sort(), podSet, unset };
}

function seccompProfileBaseline(_meta: Obj, spec: Obj, _opts: CheckOptions): CheckResult {
  const f = seccompFindings(spec);
  if (!f.setters.length) return ALLOWED;
  return forbid('seccompProfile', `${f.setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(f.values)}`);
}

const seccompProfileRestricted = (windowsExempt: boolean): CheckFn => (meta, spec, opts) => {
  if (windowsExempt && isWindows(spec)) return ALLOWED;
  const f = seccompFindings(spec);
  if (f.setters.length) return seccompProfileBaseline(meta, spec, opts);
  if (!f.unset.length) return ALLOWED;
  return forbid('seccompProfile', `pod or ${containersPhrase(f.unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
};

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]);
const SAFE_SYSCTLS_1_27 = new Set([...SAFE_SYSCTLS, 'net.ipv4.ip_local_reserved_ports']);
const SAFE_SYSCTLS_1_29 = new Set([...SAFE_SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const SAFE_SYSCTLS_1_32 = new Set([...SAFE_SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);

function sysctls(allowed: ReadonlySet<string>): CheckFn {
  return (_meta, spec) => {
    const bad = arr(podSecurityContext(spec)?.sysctls)
      .map((s) => str(obj(s).name))
      .filter((n) => !allowed.has(n));
    return bad.length ? forbid('forbidden sysctls', bad.join(', ')) : ALLOWED;
  };
}

const allowPrivilegeEscalation = (windowsExempt: boolean): CheckFn => (_meta, spec) => {
  if (windowsExempt && isWindows(spec)) return ALLOWED;
  const bad = allContainers(spec)
    .filter((c) => securityContext(c)?.allowPrivilegeEscalation !== false)
    .map((c) => str(c.name));
  return bad.length ? forbid('allowPrivilegeEscalation != false', `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`) : ALLOWED;
};

const ALLOWED_VOLUME_SOURCES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret'];
const RESTRICTED_VOLUME_SOURCES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];

function restrictedVolumes(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const v of arr(spec.volumes).map(obj)) {
    if (ALLOWED_VOLUME_SOURCES.some((s) => isSet(v[s]))) continue;
    bad.push(str(v.name));
    types.add(RESTRICTED_VOLUME_SOURCES.find((s) => isSet(v[s])) ?? 'unknown');
  }
  if (!bad.length) return ALLOWED;
  const typeList = [...types].sort();
  return forbid(
    'restricted volume types',
    `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', typeList.length)} ${joinQuote(typeList)}`,
  );
}

function runAsNonRoot(_meta: Obj, spec: Obj, opts: CheckOptions): CheckResult {
  if (relaxedUserNamespacePod(spec, opts)) return ALLOWED;
  const setters: string[] = [];
  let podNonRoot = false;
  const podValue = podSecurityContext(spec)?.runAsNonRoot;
  if (isSet(podValue)) {
    if (podValue === true) podNonRoot = true;
    else setters.push('pod');
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of allContainers(spec)) {
    const v = securityContext(c)?.runAsNonRoot;
    if (isSet(v)) {
      if (v !== true) explicit.push(str(c.name));
    } else if (!podNonRoot) implicit.push(str(c.name));
  }
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) return forbid('runAsNonRoot != true', `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicit.length) return forbid('runAsNonRoot != true', `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`);
  return ALLOWED;
}

function runAsUser(_meta: Obj, spec: Obj, opts: CheckOptions): CheckResult {
  if (relaxedUserNamespacePod(spec, opts)) return ALLOWED;
  const isRoot = (v: unknown) => isSet(v) && num(v) === 0;
  const setters: string[] = [];
  if (isRoot(podSecurityContext(spec)?.runAsUser)) setters.push('pod');
  const bad = allContainers(spec)
    .filter((c) => isRoot(securityContext(c)?.runAsUser))
    .map((c) => str(c.name));
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? forbid('runAsUser=0', `${setters.join(' and ')} must not set runAsUser=0`) : ALLOWED;
}

/** Seccomp annotations, the only seccomp setting before v1.19. */
const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

function seccompAnnotationAllowed(v: string): boolean {
  return v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
}

function seccompProfileBaselineAnnotations(meta: Obj, spec: Obj): CheckResult {
  const annotations = strMap(meta.annotations);
  const bad = new Set<string>();
  if (SECCOMP_POD_ANNOTATION in annotations && !seccompAnnotationAllowed(annotations[SECCOMP_POD_ANNOTATION])) {
    bad.add(`${SECCOMP_POD_ANNOTATION}=${goQuote(annotations[SECCOMP_POD_ANNOTATION])}`);
  }
  for (const c of allContainers(spec)) {
    const k = SECCOMP_CONTAINER_ANNOTATION_PREFIX + str(c.name);
    if (k in annotations && !seccompAnnotationAllowed(annotations[k])) bad.add(`${k}=${goQuote(annotations[k])}`);
  }
  if (!bad.size) return ALLOWED;
  return forbid('seccompProfile', `forbidden ${pluralize('annotation', 'annotations', bad.size)} ${[...bad].sort().join(', ')}`);
}

const CHECKS: readonly Check[] = [
  // baseline
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimum: 0, check: appArmorProfile }] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [{ minimum: 0, check: capabilitiesBaseline }] },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimum: 0, check: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minimum: 0, check: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimum: 0, check: hostPorts }] },
  { id: 'privileged', level: 'baseline', versions: [{ minimum: 0, check: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimum: 0, check: procMount }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimum: 0, check: seLinuxOptions(SELINUX_TYPES_1_0) },
      { minimum: 31, check: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minimum: 0, check: seccompProfileBaselineAnnotations },
      { minimum: 19, check: seccompProfileBaseline },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimum: 0, check: sysctls(SAFE_SYSCTLS) },
      { minimum: 27, check: sysctls(SAFE_SYSCTLS_1_27) },
      { minimum: 29, check: sysctls(SAFE_SYSCTLS_1_29) },
      { minimum: 32, check: sysctls(SAFE_SYSCTLS_1_32) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimum: 0, check: hostProcess }] },
  // restricted
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimum: 8, check: allowPrivilegeEscalation(false) },
      { minimum: 25, check: allowPrivilegeEscalation(true) },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimum: 22, check: capabilitiesRestricted(false), overrides: ['capabilities_baseline'] },
      { minimum: 25, check: capabilitiesRestricted(true), overrides: ['capabilities_baseline'] },
    ],
  },
  { id: 'restrictedVolumes', level: 'restricted', versions: [{ minimum: 0, check: restrictedVolumes, overrides: ['hostPathVolumes'] }] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimum: 0, check: runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimum: 23, check: runAsUser }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimum: 19, check: seccompProfileRestricted(false), overrides: ['seccompProfile_baseline'] },
      { minimum: 25, check: seccompProfileRestricted(true), overrides: ['seccompProfile_baseline'] },
    ],
  },
];

/** The newest version any check changed at; later versions and `latest` evaluate as it. */
const MAX_VERSION = Math.max(...CHECKS.flatMap((c) => c.versions.map((v) => v.minimum)));
/** Baseline ids sorted, then restricted ids sorted: the order results are reported in. */
const ORDERED_CHECKS = [...CHECKS].sort((a, b) => (a.level === b.level ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.level === 'baseline' ? -1 : 1));
const checkCache = new Map<string, CheckFn[]>();

function versionedAt(c: Check, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const v of c.versions) if (v.minimum <= minor) found = v;
  return found;
}

/** The checks in force for a non-privileged level at a version (built once per pair). */
function checksFor(level: 'baseline' | 'restricted', version: PolicyVersion): CheckFn[] {
  const minor = version.latest || version.minor > MAX_VERSION ? MAX_VERSION : version.minor;
  const cacheKey = `${level}:${minor}`;
  const cached = checkCache.get(cacheKey);
  if (cached) return cached;
  const overridden = new Set<string>();
  if (level === 'restricted') {
    for (const c of CHECKS) if (c.level === 'restricted') for (const o of versionedAt(c, minor)?.overrides ?? []) overridden.add(o);
  }
  const fns: CheckFn[] = [];
  for (const c of ORDERED_CHECKS) {
    if (level === 'baseline' && c.level !== 'baseline') continue;
    if (overridden.has(c.id)) continue;
    const v = versionedAt(c, minor);
    if (v) fns.push(v.check);
  }
  checkCache.set(cacheKey, fns);
  return fns;
}

export interface AggregateResult {
  allowed: boolean;
  forbiddenReasons: string[];
  forbiddenDetails: string[];
}

/** Evaluate a pod (metadata + spec, v1 JSON) against a level and version. */
export function evaluatePod(lv: LevelVersion, meta: unknown, spec: unknown, opts: CheckOptions = {}): AggregateResult {
  const out: AggregateResult = { allowed: true, forbiddenReasons: [], forbiddenDetails: [] };
  if (lv.level === 'privileged') return out;
  const m = obj(meta);
  const s = obj(spec);
  for (const check of checksFor(lv.level, lv.version)) {
    const r = check(m, s, opts);
    if (r.allowed) continue;
    out.allowed = false;
    out.forbiddenReasons.push(r.forbiddenReason || 'unknown forbidden reason');
    out.forbiddenDetails.push(r.forbiddenDetail ?? '');
  }
  return out;
}

/** `reason (detail), reason, ...` */
export function forbiddenDetail(r: AggregateResult): string {
  return r.forbiddenReasons.map((reason, i) => (r.forbiddenDetails[i] ? `${reason} (${r.forbiddenDetails[i]})` : reason)).join(', ');
}

/** `reason, reason, ...` */
export function forbiddenReason(r: AggregateResult): string {
  return r.forbiddenReasons.join(', ');
}

// ---- the admission plugin ------------------------------------------------------------------

export interface PodSecurityExemptions {
  usernames?: readonly string[];
  namespaces?: readonly string[];
  runtimeClasses?: readonly string[];
}

/** The cluster-wide defaults for namespaces without labels (upstream: privileged:latest). */
export interface PodSecurityDefaults {
  enforce?: string;
  enforceVersion?: string;
  audit?: string;
  auditVersion?: string;
  warn?: string;
  warnVersion?: string;
}

export interface PodSecurityDeps {
  namespace(name: string): KubeObject | undefined;
  podsInNamespace(ns: string): Iterable<KubeObject>;
  exemptions?: PodSecurityExemptions;
  defaults?: PodSecurityDefaults;
  /** The UserNamespacesPodSecurityStandards feature: relax user/root checks for hostUsers=false pods. */
  relaxPolicyForUserNamespacePods?: boolean;
}

const NAMESPACE_MAX_PODS_TO_CHECK = 3000;
const NAMESPACE_POD_CHECK_TIMEOUT_MS = 1000;

/** Pod subresources that cannot change what the policies look at. */
const IGNORED_POD_SUBRESOURCES = new Set(['exec', 'attach', 'binding', 'eviction', 'log', 'portforward', 'proxy', 'status']);

type TemplateExtractor = (o: Obj) => { meta: Obj; spec: Obj } | undefined;

const fromTemplate = (t: unknown) => (isObj(t) ? { meta: obj(t.metadata), spec: obj(t.spec) } : undefined);

/** Resources (group/plural) with a pod template, and where it is. */
const POD_TEMPLATE_RESOURCES = new Map<string, TemplateExtractor>([
  ['/replicationcontrollers', (o) => fromTemplate(obj(o.spec).template)],
  ['/podtemplates', (o) => fromTemplate(o.template ?? {})],
  ['apps/replicasets', (o) => fromTemplate(obj(o.spec).template ?? {})],
  ['apps/deployments', (o) => fromTemplate(obj(o.spec).template ?? {})],
  ['apps/statefulsets', (o) => fromTemplate(obj(o.spec).template ?? {})],
  ['apps/daemonsets', (o) => fromTemplate(obj(o.spec).template ?? {})],
  ['batch/jobs', (o) => fromTemplate(obj(o.spec).template ?? {})],
  ['batch/cronjobs', (o) => fromTemplate(obj(obj(obj(o.spec).jobTemplate).spec).template ?? {})],
]);

function parseDefaults(d: PodSecurityDefaults = {}): PodSecurityPolicy {
  const lv = (level = 'privileged', version = 'latest', mode: string): LevelVersion => {
    const l = parseLevel(level);
    const v = parseVersion(version);
    if (l.error) throw new Error(`PodSecurity defaults: ${mode}: ${l.error}`);
    if (v.error) throw new Error(`PodSecurity defaults: ${mode}-version: ${v.error}`);
    return { level: l.level, version: v.version };
  };
  return { enforce: lv(d.enforce, d.enforceVersion, 'enforce'), audit: lv(d.audit, d.auditVersion, 'audit'), warn: lv(d.warn, d.warnVersion, 'warn') };
}

/** isSignificantPodUpdate: only container counts, images and added ephemeral containers matter. */
function isSignificantPodUpdate(pod: Obj, old: Obj): boolean {
  const spec = obj(pod.spec);
  const oldSpec = obj(old.spec);
  for (const f of ['containers', 'initContainers']) {
    const now = arr(spec[f]).map(obj);
    const before = arr(oldSpec[f]).map(obj);
    if (now.length !== before.length) return true;
    for (let i = 0; i < now.length; i++) if (str(now[i].image) !== str(before[i].image)) return true;
  }
  const oldEphemeral = new Map(arr(oldSpec.ephemeralContainers).map((c) => [str(obj(c).name), obj(c)] as const));
  for (const c of arr(spec.ephemeralContainers).map(obj)) {
    const before = oldEphemeral.get(str(c.name));
    if (!before || str(before.image) !== str(c.image)) return true;
  }
  return false;
}

/** The refusal of the request's object, named as upstream's admission.NewForbidden names it. */
function admissionForbidden(req: AdmissionRequest, why: string): StatusError {
  // a generated name is already on the object by the validating phase
  return forbiddenObject(req.resource.group, req.resource.plural, admissionName(req), why);
}

export function podSecurityAdmission(deps: PodSecurityDeps): AdmissionPlugin {
  const defaults = parseDefaults(deps.defaults);
  const exemptUsers = new Set(deps.exemptions?.usernames ?? []);
  const exemptNamespaces = new Set(deps.exemptions?.namespaces ?? []);
  const exemptRuntimeClasses = new Set(deps.exemptions?.runtimeClasses ?? []);
  const checkOptions: CheckOptions = { relaxForUserNamespacePods: deps.relaxPolicyForUserNamespacePods ?? false };

  const isExemptNamespace = (ns: string) => ns !== '' && exemptNamespaces.has(ns);
  const isExemptUser = (user: string) => user !== '' && exemptUsers.has(user);
  const isExemptRuntimeClass = (spec: Obj) => str(spec.runtimeClassName) !== '' && exemptRuntimeClasses.has(str(spec.runtimeClassName));

  const labelsOf = (o: unknown) => strMap(obj(obj(o).metadata).labels);

  /** exemptNamespaceWarning: an exempt namespace that asks for a non-trivial policy is told it is ignored. */
  function exemptNamespaceWarning(name: string, p: PodSecurityPolicy, labels: Record<string, string>): string {
    const equivalentToDefaults =
      equivalentLevelVersion(p.enforce, defaults.enforce) && equivalentLevelVersion(p.audit, defaults.audit) && equivalentLevelVersion(p.warn, defaults.warn);
    if (fullyPrivileged(p) || equivalentToDefaults) return '';
    const parts: string[] = [];
    const modes: [string, LevelVersion, string, string][] = [
      ['enforce', p.enforce, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL],
      ['audit', p.audit, AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL],
      ['warn', p.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL],
    ];
    for (const [mode, lv, levelLabel, versionLabel] of modes) {
      if (lv.level !== 'privileged' && (levelLabel in labels || versionLabel in labels)) parts.push(`${mode}=${levelVersionString(lv)}`);
    }
    return `namespace ${goQuote(name)} is exempt from Pod Security, and the policy (${parts.join(', ')}) will be ignored`;
  }

  /** EvaluatePodsInNamespace: what existing pods would violate a new enforce level. */
  function evaluatePodsInNamespace(namespace: string, enforce: LevelVersion): string[] {
    const deadline = Date.now() + NAMESPACE_POD_CHECK_TIMEOUT_MS;
    // one pod per controller first, so a big ReplicaSet does not crowd out the rest
    const prioritized: Obj[] = [];
    const duplicates: Obj[] = [];
    const seenControllers = new Set<string>();
    for (const pod of deps.podsInNamespace(namespace)) {
      const p = pod as Obj;
      if (isExemptRuntimeClass(obj(p.spec))) continue;
      const controller = arr(obj(p.metadata).ownerReferences)
        .map(obj)
        .find((r) => r.controller === true);
      if (!controller) prioritized.push(p);
      else if (seenControllers.has(str(controller.uid))) duplicates.push(p);
      else {
        seenControllers.add(str(controller.uid));
        prioritized.push(p);
      }
    }
    const pods = [...prioritized, ...duplicates];
    const total = pods.length;
    const toCheck = pods.slice(0, NAMESPACE_MAX_PODS_TO_CHECK);
    let checked = toCheck.length;
    const byWarning = new Map<string, { podName: string; count: number }>();
    for (let i = 0; i < toCheck.length; i++) {
      const pod = toCheck[i];
      const r = evaluatePod(enforce, pod.metadata, pod.spec, checkOptions);
      if (!r.allowed) {
        const warning = forbiddenReason(r);
        const name = str(obj(pod.metadata).name);
        const c = byWarning.get(warning);
        if (!c) byWarning.set(warning, { podName: name, count: 1 });
        else {
          if (name < c.podName) c.podName = name;
          c.count++;
        }
      }
      if (Date.now() > deadline) {
        checked = i + 1;
        break;
      }
    }
    const warnings: string[] = [];
    if (checked < total) warnings.push(`new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`);
    if (byWarning.size) warnings.push(`existing pods in namespace ${goQuote(namespace)} violate the new PodSecurity enforce level ${goQuote(levelVersionString(enforce))}`);
    const podWarnings = [...byWarning].map(([warning, c]) => {
      if (c.count === 1) return `${c.podName}: ${warning}`;
      if (c.count === 2) return `${c.podName} (and 1 other pod): ${warning}`;
      return `${c.podName} (and ${c.count - 1} other pods): ${warning}`;
    });
    return [...warnings, ...podWarnings.sort()];
  }

  function validateNamespace(req: AdmissionRequest): void {
    if (req.subresource !== '' || !req.object) return;
    const ns = req.object;
    const name = str(ns.metadata?.name) || req.name;
    const labels = labelsOf(ns);
    const { policy: newPolicy, errors: newErrors } = policyToEvaluate(labels, defaults);
    if (req.operation === 'CREATE') {
      if (newErrors.length) throw invalidStatus('', 'Namespace', name, newErrors);
      if (isExemptNamespace(name)) {
        const w = exemptNamespaceWarning(name, newPolicy, labels);
        if (w) req.warnings.push(w);
      }
      return;
    }
    if (req.operation !== 'UPDATE') return;
    const { policy: oldPolicy, errors: oldErrors } = policyToEvaluate(labelsOf(req.oldObject), defaults);
    // invalid labels are rejected only when they changed, so old namespaces stay editable
    if (newErrors.length && (!oldErrors.length || JSON.stringify(newErrors) !== JSON.stringify(oldErrors))) {
      throw invalidStatus('', 'Namespace', name, newErrors);
    }
    if (sameLevelVersion(newPolicy.enforce, oldPolicy.enforce)) return;
    if (newPolicy.enforce.level === 'privileged') return;
    if (sameVersion(newPolicy.enforce.version, oldPolicy.enforce.version) && compareLevels(newPolicy.enforce.level, oldPolicy.enforce.level) < 1) return;
    if (isExemptNamespace(name)) {
      const w = exemptNamespaceWarning(name, newPolicy, labels);
      if (w) req.warnings.push(w);
      return;
    }
    req.warnings.push(...evaluatePodsInNamespace(name, newPolicy.enforce));
  }

  /** EvaluatePod: enforce (pods only) rejects; warn adds a warning to an admitted request. */
  function evaluate(req: AdmissionRequest, p: PodSecurityPolicy, meta: Obj, spec: Obj, enforce: boolean): void {
    if (isExemptRuntimeClass(spec)) return;
    let enforceResult: AggregateResult | undefined;
    if (enforce) {
      enforceResult = evaluatePod(p.enforce, meta, spec, checkOptions);
      if (!enforceResult.allowed) throw admissionForbidden(req, `violates PodSecurity ${goQuote(levelVersionString(p.enforce))}: ${forbiddenDetail(enforceResult)}`);
    }
    const warnResult = enforceResult && sameLevelVersion(p.warn, p.enforce) ? enforceResult : evaluatePod(p.warn, meta, spec, checkOptions);
    if (!warnResult.allowed) req.warnings.push(`would violate PodSecurity ${goQuote(levelVersionString(p.warn))}: ${forbiddenDetail(warnResult)}`);
  }

  function validatePod(req: AdmissionRequest): void {
    if (IGNORED_POD_SUBRESOURCES.has(req.subresource)) return;
    if (isExemptNamespace(req.namespace) || isExemptUser(req.user.name)) return;
    const ns = deps.namespace(req.namespace);
    if (!ns) throw internalError(`failed to lookup namespace ${goQuote(req.namespace)}`);
    const { policy, errors } = policyToEvaluate(labelsOf(ns), defaults);
    if (!errors.length && fullyPrivileged(policy)) return;
    const pod = req.object as Obj | undefined;
    if (!pod) return;
    if (req.operation === 'UPDATE' && req.oldObject && !isSignificantPodUpdate(pod, req.oldObject as Obj)) return;
    evaluate(req, policy, obj(pod.metadata), obj(pod.spec), true);
  }

  function validatePodController(req: AdmissionRequest, extract: TemplateExtractor): void {
    if (req.subresource !== '') return;
    if (isExemptNamespace(req.namespace) || isExemptUser(req.user.name)) return;
    const ns = deps.namespace(req.namespace);
    if (!ns || !req.object) return; // upstream only records an audit annotation here
    const { policy, errors } = policyToEvaluate(labelsOf(ns), defaults);
    if (!errors.length && policy.warn.level === 'privileged' && policy.audit.level === 'privileged') return;
    const template = extract(req.object as Obj);
    if (!template) return;
    evaluate(req, policy, template.meta, template.spec, false);
  }

  return {
    name: 'PodSecurity',
    validate(req: AdmissionRequest): void {
      if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return;
      const { group, plural } = req.resource;
      if (group === '' && plural === 'namespaces') return validateNamespace(req);
      if (group === '' && plural === 'pods') return validatePod(req);
      const extract = POD_TEMPLATE_RESOURCES.get(`${group}/${plural}`);
      if (extract) validatePodController(req, extract);
    },
  };
}
