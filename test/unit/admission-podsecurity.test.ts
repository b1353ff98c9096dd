// The PodSecurity admission plugin against upstream's wording (k8s.io/pod-security-admission
// v0.33: admission.go, response.go, api/helpers.go and the policy/check_*.go files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.js';
import { resourceByKind, type ResourceInfo } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { AdmissionOperation, AdmissionRequest } from '../../apiserver/admission/chain.js';
import { evaluatePod, forbiddenDetail, parseVersion, podSecurityAdmission, type LevelVersion, type PodSecurityDeps } from '../../apiserver/admission/podsecurity.js';

const res = (group: string, kind: string): ResourceInfo => resourceByKind(group, 'v1', kind)!;
const PODS = res('', 'Pod');
const NAMESPACES = res('', 'Namespace');
const DEPLOYMENTS = res('apps', 'Deployment');

interface Cluster {
  namespaces: Map<string, KubeObject>;
  pods: KubeObject[];
}

function cluster(labels: Record<string, string>, ns = 'team'): Cluster {
  return { namespaces: new Map([[ns, namespace(ns, labels)]]), pods: [] };
}

function namespace(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function plugin(c: Cluster, extra: Partial<PodSecurityDeps> = {}) {
  return podSecurityAdmission({
    namespace: (n) => c.namespaces.get(n),
    podsInNamespace: (n) => c.pods.filter((p) => p.metadata?.namespace === n),
    ...extra,
  });
}

function request(op: AdmissionOperation, resource: ResourceInfo, object: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const namespaced = resource.namespaced;
  return {
    operation: op,
    resource,
    subresource: '',
    namespace: namespaced ? (object.metadata?.namespace ?? '') : '',
    name: object.metadata?.name ?? '',
    object,
    user: { name: 'alice', groups: ['system:authenticated'] },
    dryRun: false,
    warnings: [],
    ...extra,
  };
}

type Spec = Record<string, unknown>;

function pod(name: string, spec: Spec, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team', ...meta }, spec };
}

/** A pod that satisfies restricted:latest. */
function restrictedSpec(): Spec {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: 'nginx',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
      },
    ],
    volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }, { name: 'tmp', emptyDir: {} }],
  };
}

async function rejects(p: ReturnType<typeof plugin>, req: AdmissionRequest): Promise<StatusError> {
  try {
    await p.validate!(req);
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected a StatusError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the request to be rejected');
}

const LATEST_RESTRICTED: LevelVersion = { level: 'restricted', version: parseVersion('latest').version };

/** The detail line for one level, as the plugin prints it. */
function detail(level: LevelVersion, spec: Spec, meta: Record<string, unknown> = {}): string {
  return forbiddenDetail(evaluatePod(level, meta, spec));
}

// ---- enforce ------------------------------------------------------------------------------

test('podsecurity: a privileged pod is refused in an enforce=restricted namespace with upstream’s full message', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted' }));
  const req = request('CREATE', PODS, pod('priv', { containers: [{ name: 'c', image: 'nginx', securityContext: { privileged: true } }] }));
  const err = await rejects(p, req);
  assert.equal(err.code, 403);
  assert.equal(err.reason, 'Forbidden');
  assert.equal(
    err.message,
    'pods "priv" is forbidden: violates PodSecurity "restricted:latest": ' +
      'privileged (container "c" must not set securityContext.privileged=true), ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  assert.deepEqual(err.status.details, { name: 'priv', kind: 'pods' });
  assert.deepEqual(req.warnings, [], 'a refused request carries no warnings');
});

test('podsecurity: a compliant pod is admitted at restricted with no warnings', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' }));
  const req = request('CREATE', PODS, pod('ok', restrictedSpec()));
  await p.validate!(req);
  assert.deepEqual(req.warnings, []);
  // container-level settings satisfy the pod-level requirements too
  const perContainer = {
    containers: [
      {
        name: 'app',
        image: 'nginx',
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' }, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
  await p.validate!(request('CREATE', PODS, pod('ok2', perContainer)));
});

test('podsecurity: baseline admits what baseline allows', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'baseline' }));
  const allowed: Spec[] = [
    { containers: [{ name: 'c', image: 'nginx' }] }, // fails restricted only
    { containers: [{ name: 'c', image: 'nginx', securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN', 'KILL'] }, runAsUser: 0 } }] },
    { containers: [{ name: 'c', image: 'nginx', securityContext: { seccompProfile: { type: 'RuntimeDefault' }, procMount: 'Default' } }] },
    { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '4096 87380 16777216' }] }, containers: [{ name: 'c', image: 'nginx' }] },
    { securityContext: { seLinuxOptions: { type: 'container_engine_t', level: 's0:c1' } }, containers: [{ name: 'c', image: 'nginx' }] },
    { securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-x' } }, containers: [{ name: 'c', image: 'nginx' }] },
    { volumes: [{ name: 'nfs', nfs: { server: 's', path: '/' } }], containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] },
  ];
  for (const [i, spec] of allowed.entries()) {
    const req = request('CREATE', PODS, pod(`ok-${i}`, spec));
    await p.validate!(req);
    assert.deepEqual(req.warnings, [], `pod ${i}`);
  }
});

test('podsecurity: each baseline check refuses with upstream’s reason and detail', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'baseline' }));
  const cases: [Spec, Record<string, unknown>, string][] = [
    [{ hostNetwork: true, hostPID: true, hostIPC: true, containers: [{ name: 'c' }] }, {}, 'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)'],
    [
      { containers: [{ name: 'a', securityContext: { privileged: true } }], initContainers: [{ name: 'i', securityContext: { privileged: true } }] },
      {},
      'privileged (containers "i", "a" must not set securityContext.privileged=true)',
    ],
    [
      { containers: [{ name: 'a', securityContext: { capabilities: { add: ['SYS_ADMIN', 'NET_RAW', 'CHOWN'] } } }, { name: 'b', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] },
      {},
      'non-default capabilities (containers "a", "b" must not include "NET_ADMIN", "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
    ],
    [{ volumes: [{ name: 'root', hostPath: { path: '/' } }, { name: 'e', emptyDir: {} }], containers: [{ name: 'c' }] }, {}, 'hostPath volumes (volume "root")'],
    [
      { containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 80 }, { containerPort: 443, hostPort: 443 }] }, { name: 'b', ports: [{ containerPort: 1, hostPort: 8080 }] }] },
      {},
      'hostPort (containers "a", "b" use hostPorts 443, 80, 8080)',
    ],
    [{ containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 80 }] }] }, {}, 'hostPort (container "a" uses hostPort 80)'],
    [
      { securityContext: { appArmorProfile: { type: 'Unconfined' } }, containers: [{ name: 'c' }] },
      { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' } },
      'forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
    ],
    [
      { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } }, containers: [{ name: 'c', securityContext: { seLinuxOptions: { role: 'sysadm_r' } } }] },
      {},
      'seLinuxOptions (pod and container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
    ],
    [{ containers: [{ name: 'c', securityContext: { procMount: 'Unmasked' } }] }, {}, 'procMount (container "c" must not set securityContext.procMount to "Unmasked")'],
    [
      { securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [{ name: 'c' }] },
      {},
      'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    ],
    [
      { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'vm.swappiness', value: '1' }] }, containers: [{ name: 'c' }] },
      {},
      'forbidden sysctls (kernel.msgmax, vm.swappiness)',
    ],
    [
      { securityContext: { windowsOptions: { hostProcess: true } }, containers: [{ name: 'c', securityContext: { windowsOptions: { hostProcess: true } } }] },
      {},
      'hostProcess (pod and container "c" must not set securityContext.windowsOptions.hostProcess=true)',
    ],
  ];
  for (const [spec, meta, expected] of cases) {
    const err = await rejects(p, request('CREATE', PODS, pod('bad', spec, meta)));
    assert.equal(err.message, `pods "bad" is forbidden: violates PodSecurity "baseline:latest": ${expected}`);
  }
});

test('podsecurity: restricted-only checks (volumes, capabilities, runAsUser, explicit false settings)', () => {
  assert.equal(
    detail(LATEST_RESTRICTED, {
      ...restrictedSpec(),
      volumes: [
        { name: 'h', hostPath: { path: '/x' } },
        { name: 'n', nfs: { server: 's', path: '/' } },
        { name: 'ok', secret: { secretName: 's' } },
      ],
    }),
    'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")',
  );
  assert.equal(
    detail(LATEST_RESTRICTED, {
      securityContext: { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        { name: 'a', securityContext: { allowPrivilegeEscalation: true, runAsNonRoot: false, runAsUser: 0, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'SYS_TIME'] } } },
      ],
    }),
    'allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "a" must not include "SYS_TIME" in securityContext.capabilities.add), ' +
      'runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false), ' +
      'runAsUser=0 (pod and container "a" must not set runAsUser=0)',
  );
  // a Windows pod is spared the Linux-only restricted fields
  assert.equal(
    detail(LATEST_RESTRICTED, { os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, containers: [{ name: 'w' }] }),
    '',
  );
});

test('podsecurity: the warn label warns about pods without refusing them', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/warn': 'restricted' }));
  const req = request('CREATE', PODS, pod('w', { containers: [{ name: 'c', image: 'nginx', securityContext: { allowPrivilegeEscalation: false } }] }));
  await p.validate!(req);
  assert.deepEqual(req.warnings, [
    'would violate PodSecurity "restricted:latest": unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  ]);
});

test('podsecurity: warn defaults to an explicitly set, stricter enforce level', async () => {
  const baselineOnly = { hostNetwork: true, containers: [{ name: 'c', image: 'nginx' }] };
  // enforce=baseline, no warn label: warn follows enforce, so a restricted-only violation is silent
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/audit': 'restricted' }));
  const quiet = request('CREATE', PODS, pod('q', { containers: [{ name: 'c', image: 'nginx' }] }));
  await p.validate!(quiet);
  assert.deepEqual(quiet.warnings, []);
  await rejects(p, request('CREATE', PODS, pod('b', baselineOnly)));
});

test('podsecurity: Deployment templates draw warnings for warn=baseline and are never enforced', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'baseline' }));
  const deploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'team' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { hostNetwork: true, volumes: [{ name: 'data', hostPath: { path: '/data' } }], containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  };
  const req = request('CREATE', DEPLOYMENTS, deploy);
  await p.validate!(req);
  assert.deepEqual(req.warnings, ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "data")']);

  // every kind with a pod template
  const template = { spec: { hostPID: true, containers: [{ name: 'c', image: 'x' }] } };
  const kinds: [ResourceInfo, KubeObject][] = [
    [res('apps', 'ReplicaSet'), { spec: { template } }],
    [res('apps', 'StatefulSet'), { spec: { template } }],
    [res('apps', 'DaemonSet'), { spec: { template } }],
    [res('batch', 'Job'), { spec: { template } }],
    [res('batch', 'CronJob'), { spec: { jobTemplate: { spec: { template } } } }],
    [res('', 'ReplicationController'), { spec: { template } }],
    [res('', 'PodTemplate'), { template }],
  ];
  for (const [resource, body] of kinds) {
    const r = request('CREATE', resource, { ...body, metadata: { name: 'x', namespace: 'team' } });
    await p.validate!(r);
    assert.deepEqual(r.warnings, ['would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)'], resource.kind);
  }
  // subresources (scale, status) are not looked at
  const scale = request('UPDATE', DEPLOYMENTS, deploy, { subresource: 'scale' });
  await p.validate!(scale);
  assert.deepEqual(scale.warnings, []);
});

// ---- versions -----------------------------------------------------------------------------

test('podsecurity: versioned labels evaluate the policy as it was at that version', async () => {
  const rootPod = () => {
    const spec = restrictedSpec();
    (spec.securityContext as Spec).runAsUser = 0;
    return spec;
  };
  // runAsUser=0 became restricted in v1.23
  const v122 = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.22' }));
  await v122.validate!(request('CREATE', PODS, pod('root', rootPod())));
  const v123 = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.23' }));
  const err = await rejects(v123, request('CREATE', PODS, pod('root', rootPod())));
  assert.equal(err.message, 'pods "root" is forbidden: violates PodSecurity "restricted:v1.23": runAsUser=0 (pod must not set runAsUser=0)');
  // a future version evaluates as the newest policy but keeps its own name
  const future = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.99' }));
  const err2 = await rejects(future, request('CREATE', PODS, pod('root', rootPod())));
  assert.match(err2.message, /violates PodSecurity "restricted:v1\.99": runAsUser=0/);

  // net.ipv4.tcp_rmem became a safe sysctl in v1.32; container_engine_t an allowed SELinux type in v1.31
  const sysctl = { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '1 2 3' }] }, containers: [{ name: 'c' }] };
  const at = (v: string) => ({ level: 'baseline' as const, version: parseVersion(v).version });
  assert.equal(forbiddenDetail(evaluatePod(at('v1.31'), {}, sysctl)), 'forbidden sysctls (net.ipv4.tcp_rmem)');
  assert.equal(evaluatePod(at('v1.32'), {}, sysctl).allowed, true);
  const engine = { securityContext: { seLinuxOptions: { type: 'container_engine_t' } }, containers: [{ name: 'c' }] };
  assert.equal(forbiddenDetail(evaluatePod(at('v1.30'), {}, engine)), 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "container_engine_t")');
  assert.equal(evaluatePod(at('v1.31'), {}, engine).allowed, true);
  // before v1.19 seccomp lived in annotations; v1.18 restricted has no seccomp requirement on fields
  const annotated = { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } };
  assert.equal(forbiddenDetail(evaluatePod(at('v1.18'), annotated, { containers: [{ name: 'c' }] })), 'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")');
  assert.equal(evaluatePod(at('latest'), annotated, { containers: [{ name: 'c' }] }).allowed, true);
  // before v1.25 Windows pods were not exempt from allowPrivilegeEscalation
  const win = { os: { name: 'windows' }, securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'w', securityContext: { capabilities: { drop: ['ALL'] } } }] };
  assert.equal(evaluatePod({ level: 'restricted', version: parseVersion('v1.24').version }, {}, win).forbiddenReasons.join(), 'allowPrivilegeEscalation != false');
  assert.equal(evaluatePod({ level: 'restricted', version: parseVersion('v1.25').version }, {}, win).allowed, true);
});

// ---- namespaces ---------------------------------------------------------------------------

test('podsecurity: a namespace with invalid labels is refused on create', async () => {
  const p = plugin(cluster({}));
  const err = await rejects(p, request('CREATE', NAMESPACES, namespace('x', { 'pod-security.kubernetes.io/enforce': 'foo' })));
  assert.equal(err.code, 422);
  assert.equal(err.reason, 'Invalid');
  assert.equal(err.message, 'Namespace "x" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "foo": must be one of privileged, baseline, restricted');
  assert.deepEqual(err.status.details?.causes, [
    { reason: 'FieldValueInvalid', field: 'metadata.labels[pod-security.kubernetes.io/enforce]', message: 'Invalid value: "foo": must be one of privileged, baseline, restricted' },
  ]);

  const err2 = await rejects(p, request('CREATE', NAMESPACES, namespace('y', { 'pod-security.kubernetes.io/warn': 'Baseline', 'pod-security.kubernetes.io/warn-version': '1.25' })));
  assert.equal(
    err2.message,
    'Namespace "y" is invalid: [metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "Baseline": must be one of privileged, baseline, restricted, ' +
      'metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.25": must be "latest" or "v1.x"]',
  );
  for (const v of ['v1.01', 'v2.0', 'v1.99999999999999999999', 'LATEST']) {
    await rejects(p, request('CREATE', NAMESPACES, namespace('z', { 'pod-security.kubernetes.io/enforce-version': v })));
  }
  await p.validate!(request('CREATE', NAMESPACES, namespace('fine', { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.0' })));
});

test('podsecurity: a namespace update keeps already-invalid labels but refuses new invalid ones', async () => {
  const p = plugin(cluster({}));
  const old = namespace('x', { 'pod-security.kubernetes.io/audit': 'bogus' });
  const touched = namespace('x', { 'pod-security.kubernetes.io/audit': 'bogus', team: 'a' });
  await p.validate!(request('UPDATE', NAMESPACES, touched, { oldObject: old }));
  const worse = namespace('x', { 'pod-security.kubernetes.io/audit': 'bogus2' });
  const err = await rejects(p, request('UPDATE', NAMESPACES, worse, { oldObject: old }));
  assert.equal(err.message, 'Namespace "x" is invalid: metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "bogus2": must be one of privileged, baseline, restricted');
});

test('podsecurity: tightening enforce warns about existing pods that would violate it', async () => {
  const c = cluster({});
  const rsOwner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs-uid', controller: true };
  const priv = { containers: [{ name: 'c', image: 'nginx', securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] };
  c.pods.push(
    pod('web-b', { hostNetwork: true, containers: [{ name: 'w' }] }, { ownerReferences: [rsOwner] }),
    pod('web-a', { hostNetwork: true, containers: [{ name: 'w' }] }, { ownerReferences: [rsOwner] }),
    pod('web-c', { hostNetwork: true, containers: [{ name: 'w' }] }, { ownerReferences: [rsOwner] }),
    pod('solo', priv),
    pod('fine', restrictedSpec()),
    { ...pod('other-ns', priv), metadata: { name: 'other-ns', namespace: 'elsewhere' } },
  );
  const p = plugin(c);
  const old = namespace('team', {});
  const req = request('UPDATE', NAMESPACES, namespace('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }), { oldObject: old, name: 'team' });
  await p.validate!(req);
  assert.deepEqual(req.warnings, [
    'existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"',
    'solo: privileged',
    'web-a (and 2 other pods): host namespaces',
  ]);

  // relaxing, or keeping the level, checks nothing
  const relax = request('UPDATE', NAMESPACES, namespace('team', { 'pod-security.kubernetes.io/enforce': 'privileged' }), { oldObject: namespace('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }) });
  await p.validate!(relax);
  assert.deepEqual(relax.warnings, []);
  const same = request('UPDATE', NAMESPACES, namespace('team', { 'pod-security.kubernetes.io/enforce': 'baseline', x: 'y' }), { oldObject: namespace('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }) });
  await p.validate!(same);
  assert.deepEqual(same.warnings, []);

  // restricted, with two reason lists for web-* and solo
  const strict = request('UPDATE', NAMESPACES, namespace('team', { 'pod-security.kubernetes.io/enforce': 'restricted' }), { oldObject: namespace('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }) });
  await p.validate!(strict);
  assert.deepEqual(strict.warnings, [
    'existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest"',
    'solo: privileged, runAsNonRoot != true, seccompProfile',
    'web-a (and 2 other pods): host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
  ]);
});

// ---- updates, subresources, exemptions ----------------------------------------------------

test('podsecurity: pod updates are evaluated only when containers or images change', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'baseline' }));
  const old = pod('p', { hostPID: true, containers: [{ name: 'c', image: 'nginx:1' }] });
  const relabeled = pod('p', { hostPID: true, containers: [{ name: 'c', image: 'nginx:1' }] }, { labels: { a: 'b' } });
  await p.validate!(request('UPDATE', PODS, relabeled, { oldObject: old }));
  const newImage = pod('p', { hostPID: true, containers: [{ name: 'c', image: 'nginx:2' }] });
  const err = await rejects(p, request('UPDATE', PODS, newImage, { oldObject: old }));
  assert.match(err.message, /host namespaces \(hostPID=true\)$/);
  // an added ephemeral container is significant (the ephemeralcontainers subresource is evaluated)
  const debug = pod('p', { hostPID: true, containers: [{ name: 'c', image: 'nginx:1' }], ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] });
  await rejects(p, request('UPDATE', PODS, debug, { oldObject: old, subresource: 'ephemeralcontainers' }));
  // status and other ignored subresources are not
  await p.validate!(request('UPDATE', PODS, newImage, { oldObject: old, subresource: 'status' }));
});

test('podsecurity: exempt users, namespaces and runtime classes are not evaluated', async () => {
  const c = cluster({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  c.namespaces.set('kube-system', namespace('kube-system', { 'pod-security.kubernetes.io/enforce': 'restricted' }));
  const p = plugin(c, { exemptions: { usernames: ['system:serviceaccount:kube-system:ds'], namespaces: ['kube-system'], runtimeClasses: ['kata'] } });
  const bad = { hostNetwork: true, containers: [{ name: 'c', image: 'x' }] };
  await p.validate!(request('CREATE', PODS, pod('u', bad), { user: { name: 'system:serviceaccount:kube-system:ds', groups: [] } }));
  await p.validate!(request('CREATE', PODS, { ...pod('n', bad), metadata: { name: 'n', namespace: 'kube-system' } }));
  await p.validate!(request('CREATE', PODS, pod('r', { ...bad, runtimeClassName: 'kata' })));
  await rejects(p, request('CREATE', PODS, pod('r2', { ...bad, runtimeClassName: 'runc' })));

  // an exempt namespace asking for a policy is told it is ignored
  const req = request('CREATE', NAMESPACES, namespace('kube-system', { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'baseline' }));
  await p.validate!(req);
  assert.deepEqual(req.warnings, ['namespace "kube-system" is exempt from Pod Security, and the policy (enforce=restricted:latest, warn=baseline:latest) will be ignored']);
});

test('podsecurity: nothing is exempt by default and unlabeled namespaces are privileged', async () => {
  const c = cluster({}, 'kube-system');
  const p = plugin(c);
  const req = request('CREATE', PODS, { ...pod('x', { hostNetwork: true, containers: [{ name: 'c' }] }), metadata: { name: 'x', namespace: 'kube-system' } });
  await p.validate!(req);
  assert.deepEqual(req.warnings, []);
  c.namespaces.set('kube-system', namespace('kube-system', { 'pod-security.kubernetes.io/enforce': 'baseline' }));
  await rejects(p, request('CREATE', PODS, { ...pod('x', { hostNetwork: true, containers: [{ name: 'c' }] }), metadata: { name: 'x', namespace: 'kube-system' } }));
});

test('podsecurity: cluster defaults apply to namespaces without labels', async () => {
  const p = plugin(cluster({}), { defaults: { enforce: 'baseline', warn: 'restricted' } });
  const req = request('CREATE', PODS, pod('d', { containers: [{ name: 'c', image: 'x' }] }));
  await p.validate!(req);
  assert.equal(req.warnings.length, 1);
  assert.match(req.warnings[0], /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  await rejects(p, request('CREATE', PODS, pod('h', { hostIPC: true, containers: [{ name: 'c' }] })));
  assert.throws(() => plugin(cluster({}), { defaults: { enforce: 'strict' } }), /enforce: must be one of privileged, baseline, restricted/);
});

test('podsecurity: an invalid enforce label on an existing namespace fails closed (restricted)', async () => {
  const p = plugin(cluster({ 'pod-security.kubernetes.io/enforce': 'typo' }));
  const err = await rejects(p, request('CREATE', PODS, pod('x', { containers: [{ name: 'c', image: 'x' }] })));
  assert.match(err.message, /violates PodSecurity "restricted:latest"/);
});
