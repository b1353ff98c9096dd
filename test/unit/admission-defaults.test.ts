// Defaults of minimal manifests, compared with what upstream returns for the same
// manifest (written from pkg/apis/*/v1/defaults.go, the registry strategies and the
// always-on admission plugins).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.js';
import { StatusError } from '../../machinery/status.js';
import { imageTag, strategyFor } from '../../apiserver/admission/index.js';

function create(group: string, version: string, kind: string, o: KubeObject): KubeObject {
  const s = strategyFor(group, version, kind);
  // the registry's order: prepareForCreate, then default (either order must give the same)
  s.prepareForCreate(o);
  s.default(o);
  assert.deepEqual(s.validateCreate(o), []);
  return o;
}

const containerDefaults = (name: string, image: string, pull: string) => ({
  name,
  image,
  imagePullPolicy: pull,
  resources: {},
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
});

const podSpecDefaults = {
  dnsPolicy: 'ClusterFirst',
  restartPolicy: 'Always',
  schedulerName: 'default-scheduler',
  securityContext: {},
  terminationGracePeriodSeconds: 30,
};

test('defaults: minimal Pod', () => {
  const pod = create('', 'v1', 'Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nginx', namespace: 'default' },
    spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
  });
  assert.deepEqual(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nginx', namespace: 'default', generation: 1 },
    spec: {
      containers: [containerDefaults('nginx', 'nginx', 'Always')],
      ...podSpecDefaults,
      enableServiceLinks: true,
      serviceAccount: 'default',
      serviceAccountName: 'default',
      tolerations: [
        { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
        { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
      ],
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  });
});

test('defaults: Pod details (pull policy by tag, requests from limits, probes, volumes, QoS)', () => {
  const pod = create('', 'v1', 'Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'a',
          image: 'nginx:1.25',
          ports: [{ containerPort: 80 }],
          resources: { limits: { cpu: '0.5', memory: '1.5Gi' } },
          livenessProbe: { httpGet: { port: 80 } },
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }],
        },
        { name: 'b', image: 'busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' },
        { name: 'c', image: 'registry:5000/app:latest' },
      ],
      volumes: [{ name: 'cfg', configMap: { name: 'x' } }, { name: 'scratch' }, { name: 'h', hostPath: { path: '/tmp' } }],
    },
  });
  const spec = pod.spec as any;
  assert.equal(spec.containers[0].imagePullPolicy, 'IfNotPresent');
  assert.equal(spec.containers[1].imagePullPolicy, 'IfNotPresent');
  assert.equal(spec.containers[2].imagePullPolicy, 'Always');
  assert.deepEqual(spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
  assert.deepEqual(spec.containers[0].resources, { limits: { cpu: '500m', memory: '1536Mi' }, requests: { cpu: '500m', memory: '1536Mi' } });
  assert.deepEqual(spec.containers[0].livenessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(spec.containers[0].env[0].valueFrom.fieldRef.apiVersion, 'v1');
  assert.deepEqual(spec.volumes, [
    { name: 'cfg', configMap: { name: 'x', defaultMode: 420 } },
    { name: 'scratch', emptyDir: {} },
    { name: 'h', hostPath: { path: '/tmp', type: '' } },
  ]);
  // a toleration that tolerates everything: DefaultTolerationSeconds adds nothing
  assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
  // only container a has limits → not all containers guaranteed
  assert.equal((pod.status as any).qosClass, 'Burstable');
});

test('defaults: minimal Deployment', () => {
  const dep = create('apps', 'v1', 'Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
    },
  });
  assert.deepEqual(dep, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', generation: 1 },
    spec: {
      progressDeadlineSeconds: 600,
      replicas: 1,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [containerDefaults('nginx', 'nginx:1.25', 'IfNotPresent')], ...podSpecDefaults },
      },
    },
    status: {},
  });
});

test('defaults: minimal Service (ClusterIP and NodePort)', () => {
  const svc = create('', 'v1', 'Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
  assert.deepEqual(svc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      selector: { app: 'web' },
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  });
  const np = create('', 'v1', 'Service', {
    metadata: { name: 'np', namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] },
  });
  assert.equal((np.spec as any).externalTrafficPolicy, 'Cluster');
  assert.equal((np.spec as any).ports[0].targetPort, 'http');
  const headless = create('', 'v1', 'Service', { metadata: { name: 'h', namespace: 'default' }, spec: { clusterIP: 'None' } });
  assert.deepEqual((headless.spec as any).clusterIPs, ['None']);
  assert.equal((headless.spec as any).ipFamilyPolicy, 'RequireDualStack');
  const lb = create('', 'v1', 'Service', { metadata: { name: 'lb', namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
  assert.equal((lb.spec as any).allocateLoadBalancerNodePorts, true);
});

test('defaults: minimal Job (generated selector and labels)', () => {
  const job = create('batch', 'v1', 'Job', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: '11111111-2222-3333-4444-555555555555' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34.0' }] } } },
  });
  const uid = '11111111-2222-3333-4444-555555555555';
  const labels = {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': uid,
    'job-name': 'pi',
  };
  assert.deepEqual(job, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid, generation: 1, labels },
    spec: {
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      completions: 1,
      manualSelector: false,
      parallelism: 1,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      suspend: false,
      template: {
        metadata: { labels },
        spec: { containers: [containerDefaults('pi', 'perl:5.34.0', 'IfNotPresent')], ...podSpecDefaults, restartPolicy: 'Never' },
      },
    },
    status: {},
  });
});

test('defaults: CronJob, StatefulSet, DaemonSet, ReplicaSet', () => {
  const cj = create('batch', 'v1', 'CronJob', {
    metadata: { name: 'c', namespace: 'default' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } },
    },
  });
  const cs = cj.spec as any;
  assert.equal(cs.concurrencyPolicy, 'Allow');
  assert.equal(cs.suspend, false);
  assert.equal(cs.successfulJobsHistoryLimit, 3);
  assert.equal(cs.failedJobsHistoryLimit, 1);
  assert.equal(cs.jobTemplate.spec.backoffLimit, undefined, 'Job defaults do not apply inside a JobTemplate');
  assert.equal(cs.jobTemplate.spec.template.spec.schedulerName, 'default-scheduler');

  const sts = create('apps', 'v1', 'StatefulSet', {
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres:16' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  });
  const ss = sts.spec as any;
  assert.equal(ss.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(ss.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(ss.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(ss.replicas, 1);
  assert.equal(ss.revisionHistoryLimit, 10);
  assert.equal(ss.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.deepEqual(ss.volumeClaimTemplates[0].status, { phase: 'Pending' });
  assert.deepEqual(sts.status, { availableReplicas: 0, replicas: 0 });

  const ds = create('apps', 'v1', 'DaemonSet', {
    metadata: { name: 'agent', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } } },
  });
  assert.deepEqual((ds.spec as any).updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal((ds.metadata as any).annotations['deprecated.daemonset.template.generation'], '1');

  const rs = create('apps', 'v1', 'ReplicaSet', {
    metadata: { name: 'r', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'r' } }, template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'r', image: 'r:1' }] } } },
  });
  assert.equal((rs.spec as any).replicas, 1);
  assert.deepEqual(rs.status, { replicas: 0 });
});

test('defaults: Namespace, Secret, PV/PVC, StorageClass, RBAC, NetworkPolicy, HPA', () => {
  const ns = create('', 'v1', 'Namespace', { metadata: { name: 'team-a' } });
  assert.deepEqual(ns, {
    metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });

  const sec = create('', 'v1', 'Secret', { metadata: { name: 's', namespace: 'default' }, stringData: { user: 'admin' } });
  assert.deepEqual(sec, { metadata: { name: 's', namespace: 'default' }, type: 'Opaque', data: { user: 'YWRtaW4=' } });

  const pvc = create('', 'v1', 'PersistentVolumeClaim', {
    metadata: { name: 'c', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1024Mi' } } },
  });
  assert.deepEqual(pvc.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' });
  assert.deepEqual(pvc.status, { phase: 'Pending' });

  const pv = create('', 'v1', 'PersistentVolume', {
    metadata: { name: 'v' },
    spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } },
  });
  assert.equal((pv.spec as any).persistentVolumeReclaimPolicy, 'Retain');
  assert.equal((pv.spec as any).volumeMode, 'Filesystem');
  assert.deepEqual(pv.status, { phase: 'Pending' });

  const sc = create('storage.k8s.io', 'v1', 'StorageClass', { metadata: { name: 'fast' }, provisioner: 'example.com/fast' });
  assert.equal(sc.reclaimPolicy, 'Delete');
  assert.equal(sc.volumeBindingMode, 'Immediate');

  const rb = create('rbac.authorization.k8s.io', 'v1', 'RoleBinding', {
    metadata: { name: 'rb', namespace: 'default' },
    roleRef: { kind: 'Role', name: 'r' },
    subjects: [{ kind: 'User', name: 'jane' }, { kind: 'ServiceAccount', name: 'default' }],
  });
  assert.equal((rb.roleRef as any).apiGroup, 'rbac.authorization.k8s.io');
  assert.equal((rb.subjects as any)[0].apiGroup, 'rbac.authorization.k8s.io');
  assert.equal((rb.subjects as any)[1].apiGroup, '');

  const np = create('networking.k8s.io', 'v1', 'NetworkPolicy', {
    metadata: { name: 'np', namespace: 'default' },
    spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] },
  });
  assert.deepEqual((np.spec as any).policyTypes, ['Ingress', 'Egress']);
  assert.equal((np.spec as any).egress[0].ports[0].protocol, 'TCP');

  const hpa = create('autoscaling', 'v2', 'HorizontalPodAutoscaler', {
    metadata: { name: 'h', namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
  });
  assert.equal((hpa.spec as any).minReplicas, 1);
  assert.deepEqual((hpa.spec as any).metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
});

test('defaults: undecodable bodies are 400s worded as upstream', () => {
  const s = strategyFor('', 'v1', 'Pod');
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'a', image: 'a', resources: { limits: { memory: '1 Gi' } } }] },
  };
  assert.throws(
    () => s.default(pod),
    (e: unknown) =>
      e instanceof StatusError &&
      e.code === 400 &&
      e.message === `Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
  );
  const sec = strategyFor('', 'v1', 'Secret');
  assert.throws(() => sec.default({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'not base64!' } }), (e: unknown) => e instanceof StatusError && e.code === 400);
});

test('defaults: image tags as the pull-policy defaulting reads them', () => {
  assert.equal(imageTag('nginx'), 'latest');
  assert.equal(imageTag('nginx:1.25'), '1.25');
  assert.equal(imageTag('localhost:5000/app'), 'latest');
  assert.equal(imageTag('localhost:5000/app:v2'), 'v2');
  assert.equal(imageTag('nginx@sha256:abc'), '');
  assert.equal(imageTag('Nginx'), '');
  assert.equal(imageTag('Registry.Example.com/team/app'), 'latest');
});
