// One test per validation rule family, with upstream's exact field paths and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.js';
import type { StatusCause } from '../../machinery/status.js';
import { invalid } from '../../machinery/status.js';
import { generateName, strategyFor } from '../../apiserver/admission/index.js';

type Any = any;

function create(group: string, version: string, kind: string, o: Any): StatusCause[] {
  const s = strategyFor(group, version, kind);
  s.prepareForCreate(o);
  s.default(o);
  // The registry names a generateName object after mutating admission, before validation.
  if (!o.metadata?.name && o.metadata?.generateName) o.metadata.name = generateName(o.metadata.generateName);
  return s.validateCreate(o);
}

function update(group: string, version: string, kind: string, oldObj: Any, mutate: (o: Any) => void, sub?: string): StatusCause[] {
  const s = strategyFor(group, version, kind);
  s.prepareForCreate(oldObj);
  s.default(oldObj);
  assert.deepEqual(s.validateCreate(oldObj), [], 'the old object must be valid');
  const n = structuredClone(oldObj);
  mutate(n);
  if (!sub) s.default(n);
  s.prepareForUpdate(n, oldObj, sub);
  return s.validateUpdate(n, oldObj, sub);
}

function has(causes: StatusCause[], field: string, message: string, reason?: string): void {
  const hit = causes.find((c) => c.field === field && c.message === message);
  assert.ok(hit, `missing ${field}: ${message}\ngot:\n${causes.map((c) => `  ${c.field}: ${c.message}`).join('\n')}`);
  if (reason) assert.equal(hit.reason, reason);
}

const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
// upstream's RegexError joins examples as "'a',  or 'b'" (sic)
const LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const pod = (spec: Any = {}, meta: Any = {}): Any => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', ...meta },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
});

/** Causes of creating a pod with `spec` over the `pod` defaults. */
const createPod = (spec: Any): StatusCause[] => create('', 'v1', 'Pod', pod(spec));
/** Causes of creating a pod whose one container `c` has `fields` besides its name and image. */
const createContainer = (fields: Any): StatusCause[] => createPod({ containers: [{ name: 'c', image: 'x', ...fields }] });

const deployment = (spec: Any = {}): Any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    ...spec,
  },
});

const service = (spec: Any = {}, name = 'web'): Any => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
});

// ---- metadata ------------------------------------------------------------------------------

test('metadata: names per kind (subdomain, DNS label, DNS-1035, path segment)', () => {
  has(create('', 'v1', 'ConfigMap', { metadata: { name: 'Foo_Bar', namespace: 'default' } }), 'metadata.name', `Invalid value: "Foo_Bar": ${SUBDOMAIN}`, 'FieldValueInvalid');
  has(create('', 'v1', 'Namespace', { metadata: { name: 'a.b' } }), 'metadata.name', 'Invalid value: "a.b": must not contain dots');
  has(create('', 'v1', 'Namespace', { metadata: { name: 'A' } }), 'metadata.name', `Invalid value: "A": ${LABEL}`);
  has(create('', 'v1', 'Service', service({}, '1web')), 'metadata.name', `Invalid value: "1web": ${DNS1035}`);
  has(create('rbac.authorization.k8s.io', 'v1', 'Role', { metadata: { name: 'a/b', namespace: 'default' }, rules: [] }), 'metadata.name', `Invalid value: "a/b": may not contain '/'`);
  assert.deepEqual(create('rbac.authorization.k8s.io', 'v1', 'ClusterRole', { metadata: { name: 'system:Admin' }, rules: [] }), []);
  has(create('', 'v1', 'ConfigMap', { metadata: { namespace: 'default' } }), 'metadata.name', 'Required value: name or generateName is required', 'FieldValueRequired');
  has(create('', 'v1', 'ConfigMap', { metadata: { name: 'x'.repeat(254), namespace: 'default' } }), 'metadata.name', `Invalid value: "${'x'.repeat(254)}": must be no more than 253 characters`);
});

test('metadata: generateName produces a valid name, or is rejected as upstream', () => {
  const o: Any = { metadata: { generateName: 'web-', namespace: 'default' } };
  assert.deepEqual(create('', 'v1', 'ConfigMap', o), []);
  assert.match(o.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  has(create('', 'v1', 'ConfigMap', { metadata: { generateName: 'Web-', namespace: 'default' } }), 'metadata.generateName', `Invalid value: "Web-": ${SUBDOMAIN}`);
});

test('metadata: labels and annotations', () => {
  const c = create('', 'v1', 'ConfigMap', {
    metadata: { name: 'x', namespace: 'default', labels: { 'bad key': 'v', ok: 'bad value!', 'example.com/': 'x' }, annotations: { 'a/b/c': 'x' } },
  });
  has(
    c,
    'metadata.labels',
    `Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  );
  has(
    c,
    'metadata.labels',
    `Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
  );
  has(c, 'metadata.labels', 'Invalid value: "example.com/": name part must be non-empty');
  has(
    c,
    'metadata.annotations',
    `Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
  );
  const big = create('', 'v1', 'ConfigMap', { metadata: { name: 'x', namespace: 'default', annotations: { a: 'x'.repeat(262144) } } });
  has(big, 'metadata.annotations', 'Too long: must have at most 262144 bytes', 'FieldValueTooLong');
  // annotation keys are checked case-insensitively
  assert.deepEqual(create('', 'v1', 'ConfigMap', { metadata: { name: 'x', namespace: 'default', annotations: { 'Example.COM/Key': 'v' } } }), []);
});

test('metadata: ownerReferences and finalizers', () => {
  const c = create('', 'v1', 'ConfigMap', {
    metadata: {
      name: 'x',
      namespace: 'default',
      ownerReferences: [
        { apiVersion: '', kind: 'Deployment', name: 'd', uid: 'u1', controller: true },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: '', uid: '', controller: true },
      ],
      finalizers: ['foo', 'example.com/ok', 'orphan', 'foregroundDeletion'],
    },
  });
  has(c, 'metadata.ownerReferences.apiVersion', 'Invalid value: "": version must not be empty');
  has(c, 'metadata.ownerReferences.name', 'Invalid value: "": must not be empty');
  has(c, 'metadata.ownerReferences.uid', 'Invalid value: "": must not be empty');
  assert.ok(c.some((x) => x.field === 'metadata.ownerReferences' && /Only one reference can have Controller set to true\. Found "true" in references for Deployment\/d and ReplicaSet\/$/.test(x.message!)));
  has(c, 'metadata.finalizers[0]', 'Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified');
  assert.ok(c.some((x) => x.field === 'metadata.finalizers' && x.message!.endsWith('finalizer orphan and foregroundDeletion cannot be both set')));
});

test('metadata: immutable fields and new finalizers during deletion', () => {
  const cm = { metadata: { name: 'x', namespace: 'default', uid: 'u', finalizers: ['example.com/a'], deletionTimestamp: '2024-01-01T00:00:00Z' } };
  const s = strategyFor('', 'v1', 'ConfigMap');
  const n: Any = structuredClone(cm);
  n.metadata.name = 'y';
  n.metadata.finalizers.push('example.com/b');
  s.prepareForUpdate(n, cm);
  const c = s.validateUpdate(n, cm);
  has(c, 'metadata.name', 'Invalid value: "y": field is immutable');
  has(c, 'metadata.finalizers', 'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b"}', 'FieldValueForbidden');
});

// ---- Pod -----------------------------------------------------------------------------------------

test('pod: containers required, unique names, image required', () => {
  has(createPod({ containers: [] }), 'spec.containers', 'Required value');
  const c = createPod({ containers: [{ name: 'a', image: 'x' }, { name: 'a' }, { name: 'B_', image: 'x' }] });
  has(c, 'spec.containers[1].name', 'Duplicate value: "a"', 'FieldValueDuplicate');
  has(c, 'spec.containers[1].image', 'Required value');
  has(c, 'spec.containers[2].name', `Invalid value: "B_": ${LABEL}`);
  has(createPod({ containers: [{ name: 'c', image: ' nginx' }] }), 'spec.containers[0].image', 'Invalid value: " nginx": must not have leading or trailing whitespace');
  has(
    createPod({ initContainers: [{ name: 'c', image: 'x' }] }),
    'spec.initContainers[0].name',
    'Duplicate value: "c"',
  );
});

test('pod: ports (ranges, protocols, unique names, host ports)', () => {
  const c = createContainer({
    ports: [
      { name: 'http', containerPort: 0 },
      { name: 'http', containerPort: 70000, protocol: 'HTTP' },
      { name: 'Bad--', containerPort: 80, hostPort: 8080 },
      { containerPort: 81, hostPort: 8080 },
    ],
  });
  has(c, 'spec.containers[0].ports[0].containerPort', 'Required value');
  has(c, 'spec.containers[0].ports[1].name', 'Duplicate value: "http"');
  has(c, 'spec.containers[0].ports[1].containerPort', 'Invalid value: 70000: must be between 1 and 65535, inclusive');
  has(c, 'spec.containers[0].ports[1].protocol', 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"', 'FieldValueNotSupported');
  has(c, 'spec.containers[0].ports[2].name', 'Invalid value: "Bad--": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  has(c, 'spec.containers[0].ports[2].name', 'Invalid value: "Bad--": must not contain consecutive hyphens');
  has(c, 'spec.containers[0].ports[3].hostPort', 'Duplicate value: "TCP//8080"');
});

test('pod: env names and sources', () => {
  const c = createContainer({
    env: [
      { name: '' },
      { name: 'A=B' },
      { name: 'X', valueFrom: {} },
      { name: 'Y', value: 'v', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'Z', valueFrom: { fieldRef: { fieldPath: 'spec.nope' } } },
      { name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'bad/key' } } },
    ],
  });
  has(c, 'spec.containers[0].env[0].name', 'Required value');
  has(c, 'spec.containers[0].env[1].name', `Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`);
  has(c, 'spec.containers[0].env[2].valueFrom', 'Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
  has(c, 'spec.containers[0].env[3].valueFrom', 'Invalid value: "": may not be specified when `value` is not empty');
  has(c, 'spec.containers[0].env[4].valueFrom.fieldRef.fieldPath', 'Invalid value: "spec.nope": error converting fieldPath: field label not supported: spec.nope');
  has(
    c,
    'spec.containers[0].env[5].valueFrom.secretKeyRef.key',
    `Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  );
});

test('pod: volumes (unique names, exactly one source) and volumeMounts', () => {
  const c = createPod({
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'data', emptyDir: {} },
      { name: 'two', emptyDir: {}, configMap: { name: 'x' } },
      { name: 'cm', configMap: {} },
      { name: 'hp', hostPath: { path: '/a/../b' } },
    ],
    containers: [
      {
        name: 'c',
        image: 'x',
        volumeMounts: [
          { name: 'missing', mountPath: '/m' },
          { name: 'data', mountPath: '/m' },
          { name: 'data', mountPath: '' },
        ],
      },
    ],
  });
  has(c, 'spec.volumes[1].name', 'Duplicate value: "data"');
  has(c, 'spec.volumes[2].configMap', 'Forbidden: may not specify more than 1 volume type');
  has(c, 'spec.volumes[3].configMap.name', 'Required value');
  has(c, 'spec.volumes[4].hostPath.path', `Invalid value: "/a/../b": must not contain '..'`);
  has(c, 'spec.containers[0].volumeMounts[0].name', 'Not found: "missing"', 'FieldValueNotFound');
  has(c, 'spec.containers[0].volumeMounts[1].mountPath', 'Invalid value: "/m": must be unique');
  has(c, 'spec.containers[0].volumeMounts[2].mountPath', 'Required value');
});

test('pod: restartPolicy, dnsPolicy, terminationGracePeriodSeconds', () => {
  has(createPod({ restartPolicy: 'Sometimes' }), 'spec.restartPolicy', 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
  has(
    createPod({ dnsPolicy: 'Custom' }),
    'spec.dnsPolicy',
    'Unsupported value: "Custom": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
  );
  has(createPod({ dnsPolicy: 'None' }), 'spec.dnsConfig', 'Required value: must provide `dnsConfig` when `dnsPolicy` is None');
  has(createPod({ activeDeadlineSeconds: 0 }), 'spec.activeDeadlineSeconds', 'Invalid value: 0: must be between 1 and 2147483647, inclusive');
});

test('pod: resources (names, quantities, limits ≥ requests, extended resources)', () => {
  const c = createContainer({
    resources: {
      limits: { cpu: '500m', memory: '-1', 'example.com/gpu': '1', cpus: '1' },
      requests: { cpu: '1', 'example.com/gpu': '2', 'example.com/fpga': '500m' },
    },
  });
  has(c, 'spec.containers[0].resources.requests', 'Invalid value: "1": must be less than or equal to cpu limit of 500m');
  has(c, 'spec.containers[0].resources.limits[memory]', 'Invalid value: "-1": must be greater than or equal to 0');
  has(c, 'spec.containers[0].resources.requests', 'Invalid value: "2": must be equal to example.com/gpu limit of 1');
  has(c, 'spec.containers[0].resources.limits', 'Required value: Limit must be set for non overcommitable resources');
  has(c, 'spec.containers[0].resources.requests[example.com/fpga]', 'Invalid value: 500m: must be an integer');
  has(c, 'spec.containers[0].resources.limits[cpus]', 'Invalid value: cpus: must be a standard resource type or fully qualified');
  has(c, 'spec.containers[0].resources.limits[cpus]', 'Invalid value: cpus: must be a standard resource for containers');
});

test('pod: probes and lifecycle handlers', () => {
  const c = createContainer({
    livenessProbe: { exec: { command: [] }, successThreshold: 2, periodSeconds: -1 },
    readinessProbe: {},
    startupProbe: { httpGet: { port: 99999 }, tcpSocket: { port: 80 } },
    lifecycle: { preStop: { sleep: { seconds: 60 } } },
  });
  has(c, 'spec.containers[0].livenessProbe.exec.command', 'Required value');
  has(c, 'spec.containers[0].livenessProbe.successThreshold', 'Invalid value: 2: must be 1');
  has(c, 'spec.containers[0].livenessProbe.periodSeconds', 'Invalid value: -1: must be greater than or equal to 0');
  has(c, 'spec.containers[0].readinessProbe', 'Required value: must specify a handler type');
  has(c, 'spec.containers[0].startupProbe.httpGet.port', 'Invalid value: 99999: must be between 1 and 65535, inclusive');
  has(c, 'spec.containers[0].startupProbe.tcpSocket', 'Forbidden: may not specify more than 1 handler type');
  has(c, 'spec.containers[0].lifecycle.preStop.sleep', 'Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)');
});

test('pod: security contexts', () => {
  const c = createPod({
    hostPID: true,
    shareProcessNamespace: true,
    securityContext: { runAsUser: -1, sysctls: [{ name: 'net.core.somaxconn' }, { name: 'net.core.somaxconn' }], seccompProfile: { type: 'Sideways' } },
    containers: [{ name: 'c', image: 'x', securityContext: { allowPrivilegeEscalation: false, privileged: true, procMount: 'Weird' } }],
  });
  has(c, 'spec.securityContext.runAsUser', 'Invalid value: -1: must be between 0 and 4294967295, inclusive');
  has(c, 'spec.securityContext.shareProcessNamespace', 'Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled');
  has(c, 'spec.securityContext.sysctls[1].name', 'Duplicate value: "net.core.somaxconn"');
  has(c, 'spec.securityContext.seccompProfile.type', 'Unsupported value: "Sideways": supported values: "Localhost", "RuntimeDefault", "Unconfined"');
  has(c, 'spec.containers[0].securityContext.procMount', 'Unsupported value: "Weird": supported values: "Default", "Unmasked"');
  assert.ok(c.some((x) => x.field === 'spec.containers[0].securityContext' && x.message!.endsWith('cannot set `allowPrivilegeEscalation` to false and `privileged` to true')));
});

test('pod: tolerations, node selector, affinity', () => {
  const c = createPod({
    tolerations: [
      { key: '', operator: 'Equal', value: 'x' },
      { key: 'k', operator: 'Exists', value: 'v' },
      { key: 'k', operator: 'Equal', value: 'v', tolerationSeconds: 5, effect: 'NoSchedule' },
      { key: 'k', operator: 'Sometimes' },
    ],
    nodeSelector: { 'bad key': 'v' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
  });
  has(c, 'spec.tolerations[0].operator', 'Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"');
  has(c, 'spec.tolerations[1].operator', "Invalid value: \"v\": value must be empty when `operator` is 'Exists'");
  has(c, 'spec.tolerations[2].effect', "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set");
  has(c, 'spec.tolerations[3].operator', 'Unsupported value: "Sometimes": supported values: "Equal", "Exists"');
  assert.ok(c.some((x) => x.field === 'spec.nodeSelector'));
  has(c, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms', 'Required value: must have at least one node selector term');
});

test('pod: update may only change images, activeDeadlineSeconds and add tolerations', () => {
  const base = pod();
  const okImage = update('', 'v1', 'Pod', structuredClone(base), (p) => (p.spec.containers[0].image = 'nginx:2'));
  assert.deepEqual(okImage, []);
  const bad = update('', 'v1', 'Pod', structuredClone(base), (p) => (p.spec.restartPolicy = 'Never'));
  assert.ok(
    bad.some(
      (c) =>
        c.field === 'spec' &&
        c.message!.startsWith(
          'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
        ),
    ),
    JSON.stringify(bad),
  );
  const removeCtr = update('', 'v1', 'Pod', pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] }), (p) => p.spec.containers.pop());
  has(removeCtr, 'spec.containers', 'Forbidden: pod updates may not add or remove containers');
  const tol = update('', 'v1', 'Pod', structuredClone(base), (p) => (p.spec.tolerations = [p.spec.tolerations[0]]));
  has(tol, 'spec.tolerations', 'Forbidden: existing toleration can not be modified except its tolerationSeconds');
});

// ---- workloads ------------------------------------------------------------------------------------

test('deployment: selector required and matching the template, replicas, strategy', () => {
  const noSel = create('apps', 'v1', 'Deployment', deployment({ selector: undefined }));
  assert.deepEqual(
    noSel.map((c) => `${c.field}: ${c.message}`),
    ['spec.selector: Required value', 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`'],
  );
  has(
    create('apps', 'v1', 'Deployment', deployment({ selector: { matchLabels: { app: 'other' } } })),
    'spec.template.metadata.labels',
    'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
  );
  has(
    create('apps', 'v1', 'Deployment', deployment({ selector: {} })),
    'spec.selector',
    'Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  );
  has(create('apps', 'v1', 'Deployment', deployment({ replicas: -1 })), 'spec.replicas', 'Invalid value: -1: must be greater than or equal to 0');
  has(
    create('apps', 'v1', 'Deployment', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } })),
    'spec.strategy.rollingUpdate.maxUnavailable',
    'Invalid value: 0: may not be 0 when `maxSurge` is 0',
  );
  has(
    create('apps', 'v1', 'Deployment', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } })),
    'spec.strategy.rollingUpdate.maxUnavailable',
    'Invalid value: 150%: must not be greater than 100%',
  );
  has(
    create('apps', 'v1', 'Deployment', deployment({ strategy: { type: 'Recreate', rollingUpdate: {} } })),
    'spec.strategy.rollingUpdate',
    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
  );
  has(
    create('apps', 'v1', 'Deployment', deployment({ progressDeadlineSeconds: 5, minReadySeconds: 10 })),
    'spec.progressDeadlineSeconds',
    'Invalid value: 5: must be greater than minReadySeconds',
  );
  const tplPolicy = deployment();
  tplPolicy.spec.template.spec.restartPolicy = 'Never';
  has(create('apps', 'v1', 'Deployment', tplPolicy), 'spec.template.spec.restartPolicy', 'Unsupported value: "Never": supported values: "Always"');
});

test('deployment: selector is immutable', () => {
  const c = update('apps', 'v1', 'Deployment', deployment(), (d) => {
    d.spec.selector = { matchLabels: { app: 'web2' } };
    d.spec.template.metadata.labels = { app: 'web2' };
  });
  has(
    c,
    'spec.selector',
    'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  );
});

test('statefulset, daemonset, replicaset, replicationcontroller rules', () => {
  const sts: Any = {
    metadata: { name: 'db.x', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] } }, podManagementPolicy: 'Random' },
  };
  const s = create('apps', 'v1', 'StatefulSet', sts);
  has(s, 'metadata.name', 'Invalid value: "db.x": must not contain dots');
  has(s, 'spec.podManagementPolicy', "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'");
  const su = update('apps', 'v1', 'StatefulSet', { ...structuredClone(sts), metadata: { name: 'db', namespace: 'default' }, spec: { ...structuredClone(sts.spec), podManagementPolicy: 'Parallel' } }, (o) => (o.spec.serviceName = 'other'));
  has(
    su,
    'spec',
    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  );
  const ds = create('apps', 'v1', 'DaemonSet', {
    metadata: { name: 'ds', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'x' }] } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } },
  });
  has(ds, 'spec.updateStrategy.rollingUpdate.maxSurge', 'Invalid value: 1: may not be set when maxUnavailable is non-zero');
  const rc = create('', 'v1', 'ReplicationController', {
    metadata: { name: 'rc', namespace: 'default' },
    spec: { selector: { app: 'x' }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  });
  has(rc, 'spec.template.metadata.labels', 'Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`');
});

// ---- batch ------------------------------------------------------------------------------------------

const job = (spec: Any = {}): Any => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi', namespace: 'default', uid: 'u-1' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } }, ...spec },
});

test('job: restartPolicy, counts, generated selector, immutability', () => {
  const j = job();
  j.spec.template.spec.restartPolicy = 'Always';
  has(create('batch', 'v1', 'Job', j), 'spec.template.spec.restartPolicy', 'Unsupported value: "Always": supported values: "OnFailure", "Never"');
  const c = create('batch', 'v1', 'Job', job({ completions: -1, parallelism: -2, backoffLimit: -3, completionMode: 'Sometimes' }));
  has(c, 'spec.completions', 'Invalid value: -1: must be greater than or equal to 0');
  has(c, 'spec.parallelism', 'Invalid value: -2: must be greater than or equal to 0');
  has(c, 'spec.backoffLimit', 'Invalid value: -3: must be greater than or equal to 0');
  has(c, 'spec.completionMode', 'Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"');
  has(create('batch', 'v1', 'Job', job({ completionMode: 'Indexed', completions: null, parallelism: 2 })), 'spec.completions', 'Required value: when completion mode is Indexed');
  const manual = create('batch', 'v1', 'Job', job({ manualSelector: true, selector: { matchLabels: { a: 'b' } } }));
  has(manual, 'spec.template.metadata.labels', 'Invalid value: map[string]string(nil): `selector` does not match template `labels`');
  const wrong = job();
  wrong.spec.template.metadata = { labels: { 'batch.kubernetes.io/job-name': 'other' } };
  has(create('batch', 'v1', 'Job', wrong), 'spec.template.metadata.labels[batch.kubernetes.io/job-name]', `Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":"u-1", "batch.kubernetes.io/job-name":"other", "controller-uid":"u-1", "job-name":"pi"}: must be 'pi'`);
  const upd = update('batch', 'v1', 'Job', job(), (o) => (o.spec.completions = 3));
  has(upd, 'spec.completions', 'Invalid value: 3: field is immutable');
  const sel = update('batch', 'v1', 'Job', job(), (o) => (o.spec.selector.matchLabels.extra = 'x'));
  assert.ok(sel.some((c) => c.field === 'spec.selector' && c.message!.endsWith(': field is immutable')));
});

const cronjob = (spec: Any = {}, name = 'c'): Any => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: 'default' },
  spec: {
    schedule: '*/5 * * * *',
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } },
    ...spec,
  },
});

test('cronjob: schedule syntax, macros, time zones, template rules', () => {
  for (const ok of ['0 0 * * *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@every 1h30m', '*/15 9-17 * JAN-DEC MON-FRI', '0 0 1,15 * ?'])
    assert.deepEqual(create('batch', 'v1', 'CronJob', cronjob({ schedule: ok })), [], ok);
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: '* * *' })), 'spec.schedule', 'Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]');
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: '60 * * * *' })), 'spec.schedule', 'Invalid value: "60 * * * *": end of range (60) above maximum (59): 60');
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: '* * * * 7' })), 'spec.schedule', 'Invalid value: "* * * * 7": end of range (7) above maximum (6): 7');
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: 'x * * * *' })), 'spec.schedule', 'Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax');
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: '@fortnightly' })), 'spec.schedule', 'Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly');
  has(create('batch', 'v1', 'CronJob', cronjob({ schedule: '5-1 * * * *' })), 'spec.schedule', 'Invalid value: "5-1 * * * *": beginning of range (5) beyond end of range (1): 5-1');
  has(
    create('batch', 'v1', 'CronJob', cronjob({ schedule: 'CRON_TZ=UTC 0 0 * * *' })),
    'spec.schedule',
    'Invalid value: "CRON_TZ=UTC 0 0 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
  );
  assert.deepEqual(create('batch', 'v1', 'CronJob', cronjob({ timeZone: 'Europe/Paris' })), []);
  has(create('batch', 'v1', 'CronJob', cronjob({ timeZone: 'Mars/Olympus' })), 'spec.timeZone', 'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus');
  has(create('batch', 'v1', 'CronJob', cronjob({ concurrencyPolicy: 'Sometimes' })), 'spec.concurrencyPolicy', 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"');
  has(create('batch', 'v1', 'CronJob', cronjob({}, 'x'.repeat(53))), 'metadata.name', `Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`);
  const bad = cronjob();
  bad.spec.jobTemplate.spec.template.spec.restartPolicy = 'Always';
  bad.spec.jobTemplate.spec.selector = { matchLabels: { a: 'b' } };
  const c = create('batch', 'v1', 'CronJob', bad);
  has(c, 'spec.jobTemplate.spec.template.spec.restartPolicy', 'Unsupported value: "Always": supported values: "OnFailure", "Never"');
  assert.ok(c.some((x) => x.field === 'spec.jobTemplate.spec.selector' && x.message!.endsWith('`selector` will be auto-generated')));
});

// ---- Service ---------------------------------------------------------------------------------------

test('service: ports, names, target ports, types, node ports, cluster IPs', () => {
  has(create('', 'v1', 'Service', service({ ports: [] })), 'spec.ports', 'Required value');
  assert.deepEqual(create('', 'v1', 'Service', service({ ports: [], clusterIP: 'None' })), [], 'headless services need no ports');
  const c = create('', 'v1', 'Service', service({ ports: [{ port: 80 }, { port: 0, name: 'b', targetPort: 'Bad_Name' }] }));
  has(c, 'spec.ports[0].name', 'Required value');
  has(c, 'spec.ports[1].port', 'Invalid value: 0: must be between 1 and 65535, inclusive');
  has(c, 'spec.ports[1].targetPort', 'Invalid value: "Bad_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  has(
    create('', 'v1', 'Service', service({ type: 'Fancy' })),
    'spec.type',
    'Unsupported value: "Fancy": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  );
  has(
    create('', 'v1', 'Service', service({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] })),
    'spec.ports[0].nodePort',
    'Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
  );
  has(create('', 'v1', 'Service', service({ ports: [{ port: 80, nodePort: 30080 }] })), 'spec.ports[0].nodePort', "Forbidden: may not be used when `type` is 'ClusterIP'");
  has(create('', 'v1', 'Service', service({ clusterIP: '10.0.0.300' })), 'spec.clusterIPs[0]', 'Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  has(create('', 'v1', 'Service', service({ type: 'NodePort', clusterIP: 'None' })), 'spec.clusterIPs[0]', "Invalid value: \"None\": may not be set to 'None' for NodePort services");
  has(create('', 'v1', 'Service', service({ type: 'ExternalName', ports: [] })), 'spec.externalName', 'Required value');
  has(create('', 'v1', 'Service', service({ sessionAffinity: 'Sticky' })), 'spec.sessionAffinity', 'Unsupported value: "Sticky": supported values: "ClientIP", "None"');
  has(create('', 'v1', 'Service', service({ ports: [{ port: 80, name: 'a' }, { port: 80, name: 'b' }] })), 'spec.ports[1]', 'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:nil, Port:80, TargetPort:"0", NodePort:0}');
});

test('service: update keeps allocated values and forbids changing the cluster IP', () => {
  const old = service({ clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
  const kept = update('', 'v1', 'Service', structuredClone(old), (s) => {
    delete s.spec.clusterIP;
    delete s.spec.clusterIPs;
    s.spec.ports = [{ port: 80 }];
  });
  assert.deepEqual(kept, []);
  const changed = update('', 'v1', 'Service', structuredClone(old), (s) => {
    s.spec.clusterIP = '10.96.0.11';
    s.spec.clusterIPs = ['10.96.0.11'];
  });
  has(changed, 'spec.clusterIPs[0]', 'Invalid value: []string{"10.96.0.11"}: may not change once set');
});

// ---- config and secrets -----------------------------------------------------------------------------

test('configmap and secret: keys, types, size, immutability', () => {
  has(
    create('', 'v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'default' }, data: { 'a b': 'x', '..x': 'y' } }),
    'data[a b]',
    `Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  );
  has(create('', 'v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'default' }, data: { '..x': 'y' } }), 'data[..x]', `Invalid value: "..x": must not start with '..'`);
  has(create('', 'v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'default' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } }), '', 'Too long: must have at most 1048576 bytes');
  const tls = create('', 'v1', 'Secret', { metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==' } });
  has(tls, 'data[tls.key]', 'Required value');
  has(
    create('', 'v1', 'Secret', { metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/dockerconfigjson', data: {} }),
    'data[.dockerconfigjson]',
    'Required value',
  );
  const badJson = create('', 'v1', 'Secret', {
    metadata: { name: 's', namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from('nope').toString('base64') },
  });
  assert.ok(badJson.some((c) => c.field === 'data[.dockerconfigjson]' && c.message!.startsWith('Invalid value: "<secret contents redacted>": ')));
  has(
    create('', 'v1', 'Secret', { metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/service-account-token' }),
    'metadata.annotations[kubernetes.io/service-account.name]',
    'Required value',
  );
  const sec = { metadata: { name: 's', namespace: 'default' }, type: 'Opaque', immutable: true, data: { a: 'YQ==' } };
  const c = update('', 'v1', 'Secret', sec, (s) => {
    s.type = 'kubernetes.io/tls';
    s.data = { a: 'Yg==' };
  });
  has(c, 'type', 'Invalid value: "kubernetes.io/tls": field is immutable');
  has(c, 'data', 'Forbidden: field is immutable when `immutable` is set');
});

// ---- cluster-scoped core kinds ------------------------------------------------------------------------

test('namespace and node', () => {
  has(create('', 'v1', 'Namespace', { metadata: { name: 'ns' }, spec: { finalizers: ['custom'] } }), 'spec.finalizers', 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified');
  const n = create('', 'v1', 'Node', {
    metadata: { name: 'node-1' },
    spec: { taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', effect: 'NoSchedule' }, { key: 'x', effect: 'Sometimes' }], podCIDRs: ['10.0.0.0/33'] },
  });
  assert.ok(n.some((c) => c.field === 'metadata.taints[1]' && c.message!.endsWith(': taints must be unique by key and effect pair')));
  has(n, 'metadata.taints[2].effect', 'Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"');
  has(n, 'spec.podCIDRs[0]', 'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
});

test('persistent volumes and claims', () => {
  const pv = create('', 'v1', 'PersistentVolume', { metadata: { name: 'pv' }, spec: { accessModes: ['ReadWriteSome'], capacity: { storage: '0' } } });
  has(pv, 'spec.accessModes', 'Unsupported value: "ReadWriteSome": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"');
  has(pv, 'spec.capacity[storage]', 'Invalid value: "0": must be greater than zero');
  has(pv, 'spec', 'Required value: must specify a volume type');
  const pvc = create('', 'v1', 'PersistentVolumeClaim', { metadata: { name: 'c', namespace: 'default' }, spec: { storageClassName: 'Fast!' } });
  has(pvc, 'spec.accessModes', 'Required value: at least 1 access mode is required');
  has(pvc, 'spec.resources[storage]', 'Required value');
  has(pvc, 'spec.storageClassName', `Invalid value: "Fast!": ${SUBDOMAIN}`);
  const bound: Any = {
    metadata: { name: 'c', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv-1' },
  };
  const c = update('', 'v1', 'PersistentVolumeClaim', bound, (o) => (o.spec.accessModes = ['ReadWriteMany']));
  assert.ok(c.some((x) => x.field === 'spec' && x.message!.startsWith('Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims')));
});

test('storage class: provisioner required, parameters immutable', () => {
  has(create('storage.k8s.io', 'v1', 'StorageClass', { metadata: { name: 'sc' } }), 'provisioner', 'Required value');
  has(
    create('storage.k8s.io', 'v1', 'StorageClass', { metadata: { name: 'sc' }, provisioner: 'x', volumeBindingMode: 'Later' }),
    'volumeBindingMode',
    'Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"',
  );
  const c = update('storage.k8s.io', 'v1', 'StorageClass', { metadata: { name: 'sc' }, provisioner: 'example.com/x', parameters: { a: '1' } }, (o) => (o.parameters = { a: '2' }));
  has(c, 'parameters', 'Forbidden: updates to parameters are forbidden.');
});

// ---- networking -----------------------------------------------------------------------------------------

test('ingress, ingress class, network policy', () => {
  const ing = create('networking.k8s.io', 'v1', 'Ingress', {
    metadata: { name: 'i', namespace: 'default' },
    spec: {
      rules: [
        {
          host: '1.2.3.4',
          http: {
            paths: [
              { path: '/a', backend: { service: { name: 'svc', port: { number: 80 } } } },
              { path: 'relative', pathType: 'Prefix', backend: { service: { name: 'svc' } } },
              { path: '/x', pathType: 'Fuzzy', backend: { service: { name: 'Svc', port: { name: 'http', number: 80 } } } },
            ],
          },
        },
      ],
    },
  });
  has(ing, 'spec.rules[0].host', 'Invalid value: "1.2.3.4": must be a DNS name, not an IP address');
  has(ing, 'spec.rules[0].http.paths[0].pathType', 'Required value: pathType must be specified');
  has(ing, 'spec.rules[0].http.paths[1].path', 'Invalid value: "relative": must be an absolute path');
  has(ing, 'spec.rules[0].http.paths[1].backend', 'Required value: port name or number is required');
  has(ing, 'spec.rules[0].http.paths[2].pathType', 'Unsupported value: "Fuzzy": supported values: "Exact", "ImplementationSpecific", "Prefix"');
  has(ing, 'spec.rules[0].http.paths[2].backend.service.name', `Invalid value: "Svc": ${DNS1035}`);
  has(ing, 'spec.rules[0].http.paths[2].backend', 'Invalid value: "": cannot set both port name & port number');
  has(create('networking.k8s.io', 'v1', 'Ingress', { metadata: { name: 'i', namespace: 'default' }, spec: {} }), 'spec', 'Invalid value: []networking.IngressRule{}: either `defaultBackend` or `rules` must be specified');
  has(create('networking.k8s.io', 'v1', 'IngressClass', { metadata: { name: 'nginx' }, spec: { controller: 'nginx' } }), 'spec.controller', 'Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")');
  const np = create('networking.k8s.io', 'v1', 'NetworkPolicy', {
    metadata: { name: 'np', namespace: 'default' },
    spec: {
      podSelector: {},
      ingress: [{ ports: [{ port: 80, endPort: 70 }, { protocol: 'ICMP' }], from: [{}, { ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] }, podSelector: {} }] }],
      policyTypes: ['Ingress', 'Sideways'],
    },
  });
  has(np, 'spec.ingress[0].ports[0].endPort', 'Invalid value: 80: must be greater than or equal to `port`');
  has(np, 'spec.ingress[0].ports[1].protocol', 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"');
  has(np, 'spec.ingress[0].from[0]', 'Required value: must specify a peer');
  has(np, 'spec.ingress[0].from[1]', 'Forbidden: may not specify both ipBlock and another peer');
  has(np, 'spec.ingress[0].from[1].ipBlock.except[0]', 'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`');
  has(np, 'spec.policyTypes[1]', 'Unsupported value: "Sideways": supported values: "Ingress", "Egress"');
});

// ---- rbac, scheduling, policy, coordination, discovery, events, autoscaling ---------------------------------

test('rbac: rules and role refs', () => {
  const r = create('rbac.authorization.k8s.io', 'v1', 'Role', { metadata: { name: 'r', namespace: 'default' }, rules: [{ apiGroups: [''], resources: [] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] });
  has(r, 'rules[0].verbs', 'Required value: verbs must contain at least one value');
  has(r, 'rules[0].resources', 'Required value: resource rules must supply at least one resource');
  has(r, 'rules[1].nonResourceURLs', 'Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs');
  const rb = create('rbac.authorization.k8s.io', 'v1', 'RoleBinding', { metadata: { name: 'rb', namespace: 'default' }, roleRef: { kind: 'Thing', name: '' }, subjects: [{ kind: 'Robot', name: 'r' }] });
  has(rb, 'roleRef.kind', 'Unsupported value: "Thing": supported values: "Role", "ClusterRole"');
  has(rb, 'roleRef.name', 'Required value');
  has(rb, 'subjects[0].kind', 'Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"');
  const crb = create('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', { metadata: { name: 'crb' }, roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] });
  has(crb, 'subjects[0].namespace', 'Required value');
  const c = update('rbac.authorization.k8s.io', 'v1', 'RoleBinding', { metadata: { name: 'rb', namespace: 'default' }, roleRef: { kind: 'Role', name: 'a' } }, (o) => (o.roleRef.name = 'b'));
  has(c, 'roleRef', 'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"b"}: cannot change roleRef');
});

test('priority class, pdb, lease, endpoint slice, event, hpa', () => {
  has(create('scheduling.k8s.io', 'v1', 'PriorityClass', { metadata: { name: 'high' }, value: 2000000000 }), 'value', 'Forbidden: maximum allowed value of a user defined priority is 1000000000');
  has(
    create('scheduling.k8s.io', 'v1', 'PriorityClass', { metadata: { name: 'system-mine' }, value: 1 }),
    'metadata.name',
    "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
  );
  const pdb = create('policy', 'v1', 'PodDisruptionBudget', { metadata: { name: 'p', namespace: 'default' }, spec: { minAvailable: '110%', maxUnavailable: 1 } });
  has(pdb, 'spec.minAvailable', 'Invalid value: 110%: must not be greater than 100%');
  assert.ok(pdb.some((c) => c.field === 'spec' && c.message!.endsWith('minAvailable and maxUnavailable cannot be both set')));
  has(create('coordination.k8s.io', 'v1', 'Lease', { metadata: { name: 'l', namespace: 'default' }, spec: { leaseDurationSeconds: 0 } }), 'spec.leaseDurationSeconds', 'Invalid value: 0: must be greater than 0');
  const eps = create('discovery.k8s.io', 'v1', 'EndpointSlice', { metadata: { name: 'e', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['fe80::1'] }, { addresses: [] }], ports: [{ port: 80, protocol: 'HTTP' }] });
  has(eps, 'endpoints[0].addresses[0]', 'Invalid value: "fe80::1": must be an IPv4 address');
  has(eps, 'endpoints[1].addresses', 'Required value: must contain at least 1 address');
  has(eps, 'ports[0].protocol', 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
  has(create('discovery.k8s.io', 'v1', 'EndpointSlice', { metadata: { name: 'e', namespace: 'default' } }), 'addressType', 'Required value');
  has(
    create('', 'v1', 'Event', { metadata: { name: 'pod.1', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' }, reason: 'X' }),
    'involvedObject.namespace',
    'Invalid value: "other": does not match event.namespace',
  );
  assert.deepEqual(create('', 'v1', 'Event', { metadata: { name: 'pod.17a', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' } }), []);
  const hpa = create('autoscaling', 'v2', 'HorizontalPodAutoscaler', {
    metadata: { name: 'h', namespace: 'default' },
    spec: { scaleTargetRef: { kind: 'Deployment' }, minReplicas: 3, maxReplicas: 2, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 0 } } }] },
  });
  has(hpa, 'spec.maxReplicas', 'Invalid value: 2: must be greater than or equal to `minReplicas`');
  has(hpa, 'spec.scaleTargetRef.name', 'Required value');
  has(hpa, 'spec.metrics[0].resource.target.averageUtilization', 'Invalid value: 0: must be greater than 0');
});

test('causes wrap into upstream 422 messages', () => {
  const causes = createPod({ restartPolicy: 'Sometimes' });
  const err = invalid('', 'Pod', 'p', causes);
  assert.equal(err.code, 422);
  assert.equal(err.message, 'Pod "p" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
});

test('validation is fast', () => {
  const big = pod({
    containers: Array.from({ length: 20 }, (_, i) => ({
      name: `c${i}`,
      image: 'nginx',
      ports: [{ containerPort: 8000 + i }],
      env: Array.from({ length: 20 }, (_, j) => ({ name: `E${j}`, value: 'v' })),
      resources: { limits: { cpu: '1', memory: '1Gi' } },
    })),
  });
  const s = strategyFor('', 'v1', 'Pod');
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    const o: KubeObject = structuredClone(big);
    s.prepareForCreate(o);
    s.default(o);
    assert.equal(s.validateCreate(o).length, 0);
  }
  const per = (performance.now() - t0) / 200;
  assert.ok(per < 20, `a 20-container pod took ${per.toFixed(2)} ms`);
});
