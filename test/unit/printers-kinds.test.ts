import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable, canonicalQuantity, tableColumns, tableRow } from '../../apiserver/printers/index.js';
import type { KubeObject } from '../../machinery/object.js';
import { RESOURCES } from '../../machinery/resources.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const meta = (name: string, age: number, extra: object = {}) => ({ name, namespace: 'default', creationTimestamp: ago(age), ...extra });
const names = (group: string, kind: string) => tableColumns(group, kind).map((c) => c.name);
const wide = (group: string, kind: string) => tableColumns(group, kind).filter((c) => c.priority === 1).map((c) => c.name);
const row = (group: string, kind: string, obj: unknown) => tableRow(group, kind, obj as KubeObject, NOW);

const template = {
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      { name: 'app', image: 'nginx:1.27' },
      { name: 'sidecar', image: 'busybox:1.36' },
    ],
  },
};

test('quantities print in canonical form', () => {
  const cases: [unknown, string][] = [
    ['10Gi', '10Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['1.5Gi', '1536Mi'],
    ['512', '512'],
    ['100Ki', '100Ki'],
    ['1000Ki', '1000Ki'],
    ['500m', '500m'],
    ['0.5', '500m'],
    ['1.5', '1500m'],
    ['2000', '2k'],
    ['1500', '1500'],
    ['100M', '100M'],
    ['1000M', '1G'],
    ['1e3', '1e3'],
    ['1E6', '1e6'],
    ['0', '0'],
    ['0Gi', '0'],
    [undefined, '0'],
    [3, '3'],
    ['0.1m', '100u'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    ['-1Gi', '-1Gi'],
    ['garbage', 'garbage'],
  ];
  for (const [q, want] of cases) assert.equal(canonicalQuantity(q), want, `canonicalQuantity(${String(q)})`);
});

test('deployment, replicaset, statefulset, daemonset, replicationcontroller', () => {
  assert.deepEqual(names('apps', 'Deployment'), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(wide('apps', 'Deployment'), ['Containers', 'Images', 'Selector']);
  const dep = {
    metadata: meta('web', 2 * D + 3 * H),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'canary'] }] },
      template,
    },
    status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
  };
  assert.deepEqual(row('apps', 'Deployment', dep), [
    'web',
    '2/3',
    3,
    2,
    '2d3h',
    'app,sidecar',
    'nginx:1.27,busybox:1.36',
    'app=web,env in (canary,prod)',
  ]);
  assert.deepEqual(row('apps', 'Deployment', { metadata: meta('new', 5 * S), spec: { template: { spec: { containers: [] } } } }), [
    'new',
    '0/1',
    0,
    0,
    '5s',
    '',
    '',
    '',
  ]);

  assert.deepEqual(names('apps', 'ReplicaSet'), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  const rs = {
    metadata: meta('web-7d4b9', 2 * D),
    spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9' } }, template },
    status: { replicas: 3, readyReplicas: 3 },
  };
  assert.deepEqual(row('apps', 'ReplicaSet', rs), ['web-7d4b9', 3, 3, 3, '2d', 'app,sidecar', 'nginx:1.27,busybox:1.36', 'app=web,pod-template-hash=7d4b9']);

  assert.deepEqual(names('apps', 'StatefulSet'), ['Name', 'Ready', 'Age', 'Containers', 'Images']);
  assert.deepEqual(row('apps', 'StatefulSet', { metadata: meta('db', 90 * S), spec: { replicas: 3, template }, status: { readyReplicas: 1 } }), [
    'db',
    '1/3',
    '90s',
    'app,sidecar',
    'nginx:1.27,busybox:1.36',
  ]);

  assert.deepEqual(names('apps', 'DaemonSet'), [
    'Name',
    'Desired',
    'Current',
    'Ready',
    'Up-to-date',
    'Available',
    'Node Selector',
    'Age',
    'Containers',
    'Images',
    'Selector',
  ]);
  const ds = {
    metadata: meta('kube-proxy', 45 * D),
    spec: { selector: { matchLabels: { 'k8s-app': 'kube-proxy' } }, template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.33.0' }] } } },
    status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
  };
  assert.deepEqual(row('apps', 'DaemonSet', ds), [
    'kube-proxy',
    3,
    3,
    2,
    3,
    2,
    'kubernetes.io/os=linux',
    '45d',
    'kube-proxy',
    'registry.k8s.io/kube-proxy:v1.33.0',
    'k8s-app=kube-proxy',
  ]);

  assert.deepEqual(names('', 'ReplicationController'), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(row('', 'ReplicationController', { metadata: meta('rc', M), spec: { replicas: 2, selector: { app: 'rc' }, template }, status: { replicas: 2 } }), [
    'rc',
    2,
    2,
    0,
    '60s',
    'app,sidecar',
    'nginx:1.27,busybox:1.36',
    'app=rc',
  ]);
});

test('jobs and cronjobs', () => {
  assert.deepEqual(names('batch', 'Job'), ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector']);
  const job = (spec: object, status: object, extra: object = {}) => ({
    metadata: meta('pi', 10 * M, extra),
    spec: { template, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } }, ...spec },
    status,
  });
  assert.deepEqual(row('batch', 'Job', job({ completions: 1, parallelism: 1 }, { startTime: ago(3 * M + 20 * S), active: 1 })).slice(0, 5), [
    'pi',
    'Running',
    '0/1',
    '3m20s',
    '10m',
  ]);
  assert.deepEqual(
    row('batch', 'Job', job({ completions: 1 }, { startTime: ago(9 * M), completionTime: ago(8 * M + 15 * S), succeeded: 1, conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }] })).slice(1, 4),
    ['Complete', '1/1', '45s'],
  );
  assert.equal(row('batch', 'Job', job({}, { failed: 6, conditions: [{ type: 'FailureTarget', status: 'True' }, { type: 'Failed', status: 'True' }] }))[1], 'Failed');
  assert.equal(row('batch', 'Job', job({ suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] }))[1], 'Suspended');
  assert.equal(row('batch', 'Job', job({}, { conditions: [{ type: 'FailureTarget', status: 'True' }] }))[1], 'FailureTarget');
  assert.equal(row('batch', 'Job', job({}, {}, { deletionTimestamp: ago(S) }))[1], 'Terminating');
  assert.equal(row('batch', 'Job', job({}, {}))[2], '0/1');
  assert.equal(row('batch', 'Job', job({ parallelism: 3 }, { succeeded: 1 }))[2], '1/1 of 3');
  assert.equal(row('batch', 'Job', job({ completions: 5, parallelism: 2 }, { succeeded: 2 }))[2], '2/5');
  assert.equal(row('batch', 'Job', job({}, {}))[3], '');
  assert.equal(row('batch', 'Job', job({}, {}))[7], 'batch.kubernetes.io/controller-uid=abc');

  assert.deepEqual(names('batch', 'CronJob'), ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers', 'Images', 'Selector']);
  const cj = {
    metadata: meta('hello', 3 * H),
    spec: { schedule: '*/5 * * * *', suspend: false, jobTemplate: { spec: { template } } },
    status: { active: [{ name: 'hello-1' }], lastScheduleTime: ago(4 * M) },
  };
  assert.deepEqual(row('batch', 'CronJob', cj), ['hello', '*/5 * * * *', '<none>', 'False', 1, '4m', '3h', 'app,sidecar', 'nginx:1.27,busybox:1.36', '<none>']);
  assert.deepEqual(
    row('batch', 'CronJob', { metadata: meta('tz', H), spec: { schedule: '0 0 * * *', timeZone: 'Etc/UTC', suspend: true, jobTemplate: { spec: { template } } }, status: {} }).slice(1, 6),
    ['0 0 * * *', 'Etc/UTC', 'True', 0, '<none>'],
  );
});

test('storage: storage classes, PVs, PVCs, CSI drivers, volume attachments', () => {
  assert.deepEqual(names('storage.k8s.io', 'StorageClass'), ['Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age']);
  const sc = {
    metadata: { name: 'standard', creationTimestamp: ago(45 * D), annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'rancher.io/local-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  assert.deepEqual(row('storage.k8s.io', 'StorageClass', sc), ['standard (default)', 'rancher.io/local-path', 'Delete', 'WaitForFirstConsumer', false, '45d']);
  assert.deepEqual(
    row('storage.k8s.io', 'StorageClass', { metadata: { name: 'fast', creationTimestamp: ago(H), annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } }, provisioner: 'csi.example.com', allowVolumeExpansion: true }),
    ['fast', 'csi.example.com', 'Delete', 'Immediate', true, '60m'],
  );
  assert.equal(
    row('storage.k8s.io', 'StorageClass', { metadata: { name: 'old', annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x' })[0],
    'old (default)',
  );

  assert.deepEqual(names('', 'PersistentVolume'), [
    'Name',
    'Capacity',
    'Access Modes',
    'Reclaim Policy',
    'Status',
    'Claim',
    'StorageClass',
    'VolumeAttributesClass',
    'Reason',
    'Age',
    'VolumeMode',
  ]);
  assert.deepEqual(wide('', 'PersistentVolume'), ['VolumeMode']);
  const pv = {
    metadata: { name: 'pvc-3f2a', creationTimestamp: ago(2 * D) },
    spec: {
      capacity: { storage: '10240Mi' },
      accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { namespace: 'default', name: 'data-db-0' },
      storageClassName: 'standard',
      volumeMode: 'Filesystem',
    },
    status: { phase: 'Bound' },
  };
  assert.deepEqual(row('', 'PersistentVolume', pv), ['pvc-3f2a', '10Gi', 'RWO,RWX', 'Delete', 'Bound', 'default/data-db-0', 'standard', '<unset>', '', '2d', 'Filesystem']);
  assert.deepEqual(
    row('', 'PersistentVolume', { metadata: { name: 'p', creationTimestamp: ago(M), deletionTimestamp: ago(S) }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOncePod'], volumeAttributesClassName: 'gold' }, status: { phase: 'Released', reason: 'x' } }),
    ['p', '1Gi', 'RWOP', 'Retain', 'Terminating', '', '', 'gold', 'x', '60s', 'Filesystem'],
  );

  assert.deepEqual(names('', 'PersistentVolumeClaim'), ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age', 'VolumeMode']);
  const pvc = {
    metadata: meta('data-db-0', 2 * D),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'standard', volumeName: 'pvc-3f2a', volumeMode: 'Filesystem' },
    status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } },
  };
  assert.deepEqual(row('', 'PersistentVolumeClaim', pvc), ['data-db-0', 'Bound', 'pvc-3f2a', '10Gi', 'RWO', 'standard', '<unset>', '2d', 'Filesystem']);
  assert.deepEqual(
    row('', 'PersistentVolumeClaim', { metadata: meta('pending', 30 * S), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'standard' }, status: { phase: 'Pending' } }),
    ['pending', 'Pending', '', '', '', 'standard', '<unset>', '30s', 'Filesystem'],
  );

  assert.deepEqual(names('storage.k8s.io', 'CSIDriver'), ['Name', 'AttachRequired', 'PodInfoOnMount', 'StorageCapacity', 'TokenRequests', 'RequiresRepublish', 'Modes', 'Age']);
  assert.deepEqual(row('storage.k8s.io', 'CSIDriver', { metadata: { name: 'csi.example.com', creationTimestamp: ago(D) }, spec: { attachRequired: false, podInfoOnMount: true } }), [
    'csi.example.com',
    false,
    true,
    false,
    '<unset>',
    false,
    'Persistent',
    '24h',
  ]);
  assert.deepEqual(
    row('storage.k8s.io', 'CSIDriver', { metadata: { name: 'd', creationTimestamp: ago(D) }, spec: { tokenRequests: [{ audience: 'a' }, { audience: 'b' }], volumeLifecycleModes: ['Persistent', 'Ephemeral'] } }).slice(1, 7),
    [true, false, false, 'a,b', false, 'Persistent,Ephemeral'],
  );

  assert.deepEqual(names('storage.k8s.io', 'VolumeAttachment'), ['Name', 'Attacher', 'PV', 'Node', 'Attached', 'Age']);
  assert.deepEqual(
    row('storage.k8s.io', 'VolumeAttachment', { metadata: { name: 'csi-1', creationTimestamp: ago(M) }, spec: { attacher: 'csi.example.com', source: { persistentVolumeName: 'pv1' }, nodeName: 'node-1' }, status: { attached: true } }),
    ['csi-1', 'csi.example.com', 'pv1', 'node-1', true, '60s'],
  );
  assert.deepEqual(names('storage.k8s.io', 'CSINode'), ['Name', 'Drivers', 'Age']);
  assert.deepEqual(row('storage.k8s.io', 'CSINode', { metadata: { name: 'n1', creationTimestamp: ago(M) }, spec: { drivers: [{ name: 'x', nodeID: 'n1' }] } }), ['n1', 1, '60s']);
});

test('config, secrets, service accounts, namespaces, quotas, templates', () => {
  assert.deepEqual(row('', 'ConfigMap', { metadata: meta('kube-root-ca.crt', 45 * D), data: { 'ca.crt': '...' }, binaryData: { b: 'AA==' } }), ['kube-root-ca.crt', 2, '45d']);
  assert.deepEqual(row('', 'ConfigMap', { metadata: meta('empty', S) }), ['empty', 0, '1s']);
  assert.deepEqual(names('', 'Secret'), ['Name', 'Type', 'Data', 'Age']);
  assert.deepEqual(row('', 'Secret', { metadata: meta('tls', H), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }), ['tls', 'kubernetes.io/tls', 2, '60m']);
  assert.deepEqual(row('', 'Secret', { metadata: meta('s', H), stringData: { a: 'b' } }), ['s', 'Opaque', 1, '60m']);
  assert.deepEqual(row('', 'ServiceAccount', { metadata: meta('default', 45 * D) }), ['default', 0, '45d']);
  assert.deepEqual(row('', 'ServiceAccount', { metadata: meta('builder', 45 * D), secrets: [{ name: 'x' }] }), ['builder', 1, '45d']);
  assert.deepEqual(names('', 'Namespace'), ['Name', 'Status', 'Age']);
  assert.deepEqual(row('', 'Namespace', { metadata: { name: 'gone', creationTimestamp: ago(D) }, status: { phase: 'Terminating' } }), ['gone', 'Terminating', '24h']);

  assert.deepEqual(names('', 'ResourceQuota'), ['Name', 'Request', 'Limit', 'Age']);
  const rq = {
    metadata: meta('compute', H),
    status: {
      hard: { 'requests.cpu': '2', pods: '10', 'limits.memory': '4Gi', 'limits.cpu': '4', 'requests.memory': '2048Mi' },
      used: { 'requests.cpu': '500m', pods: '3', 'limits.memory': '1Gi', 'requests.memory': '512Mi' },
    },
  };
  assert.deepEqual(row('', 'ResourceQuota', rq), [
    'compute',
    'pods: 3/10, requests.cpu: 500m/2, requests.memory: 512Mi/2Gi',
    'limits.cpu: 0/4, limits.memory: 1Gi/4Gi',
    '60m',
  ]);

  assert.deepEqual(names('', 'PodTemplate'), ['Name', 'Containers', 'Images', 'Pod Labels']);
  assert.deepEqual(row('', 'PodTemplate', { metadata: meta('tpl', H), template }), ['tpl', 'app,sidecar', 'nginx:1.27,busybox:1.36', 'app=web']);
});

test('endpoints and endpoint slices', () => {
  const ep = {
    metadata: meta('web', H),
    subsets: [
      { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80, protocol: 'TCP' }, { name: 'm', port: 9090 }] },
    ],
  };
  assert.deepEqual(row('', 'Endpoints', ep), ['web', '10.0.0.1:80,10.0.0.2:80,10.0.0.1:9090 + 1 more...', '60m']);
  assert.deepEqual(row('', 'Endpoints', { metadata: meta('none', H) }), ['none', '<none>', '60m']);
  assert.deepEqual(row('', 'Endpoints', { metadata: meta('v6', H), subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 443 }] }] })[1], '[fd00::1]:443');
  assert.deepEqual(row('', 'Endpoints', { metadata: meta('headless', H), subsets: [{ addresses: [{ ip: '10.0.0.5' }] }] })[1], '10.0.0.5');

  assert.deepEqual(names('discovery.k8s.io', 'EndpointSlice'), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
  const es = {
    metadata: meta('web-abc12', H),
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }, { addresses: ['10.0.0.5'] }],
  };
  assert.deepEqual(row('discovery.k8s.io', 'EndpointSlice', es), ['web-abc12', 'IPv4', '80', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '60m']);
  assert.deepEqual(row('discovery.k8s.io', 'EndpointSlice', { metadata: meta('e', H), addressType: 'IPv4', endpoints: [] }).slice(2, 4), ['<unset>', '<unset>']);
});

test('networking: ingress, ingress class, network policy', () => {
  assert.deepEqual(names('networking.k8s.io', 'Ingress'), ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age']);
  const ing = {
    metadata: meta('web', D),
    spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }], tls: [{ hosts: ['a.example.com'] }] },
    status: { loadBalancer: { ingress: [{ ip: '172.18.0.3' }, { hostname: 'some-very-long-load-balancer-name.example.com' }] } },
  };
  assert.deepEqual(row('networking.k8s.io', 'Ingress', ing), ['web', 'nginx', 'a.example.com,b.example.com', '172.18.0.3,some-very-long-load-balancer-name.example.com', '80, 443', '24h']);
  assert.deepEqual(row('networking.k8s.io', 'Ingress', { metadata: meta('plain', D), spec: { defaultBackend: {} } }), ['plain', '<none>', '*', '', '80', '24h']);
  const many = { metadata: meta('many', D), spec: { rules: [{ host: 'a' }, {}, { host: 'b' }, { host: 'c' }, { host: 'd' }] } };
  assert.equal(row('networking.k8s.io', 'Ingress', many)[2], 'a,b,c + 2 more...');

  assert.deepEqual(names('networking.k8s.io', 'IngressClass'), ['Name', 'Controller', 'Parameters', 'Age']);
  assert.deepEqual(
    row('networking.k8s.io', 'IngressClass', { metadata: { name: 'nginx', creationTimestamp: ago(D) }, spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' } } }),
    ['nginx', 'k8s.io/ingress-nginx', 'IngressParameters.k8s.example.com/external-lb', '24h'],
  );
  assert.deepEqual(names('networking.k8s.io', 'NetworkPolicy'), ['Name', 'Pod-Selector', 'Age']);
  assert.deepEqual(row('networking.k8s.io', 'NetworkPolicy', { metadata: meta('deny-all', D), spec: { podSelector: {} } }), ['deny-all', '<none>', '24h']);
  assert.deepEqual(row('networking.k8s.io', 'NetworkPolicy', { metadata: meta('db', D), spec: { podSelector: { matchLabels: { role: 'db' } } } })[1], 'role=db');
});

test('autoscaling and disruption budgets', () => {
  assert.deepEqual(names('autoscaling', 'HorizontalPodAutoscaler'), ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
  const hpa = {
    metadata: meta('web', H),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '512Mi' } } },
        { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '1k' } } },
      ],
    },
    status: {
      currentReplicas: 3,
      desiredReplicas: 3,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 23, averageValue: '46m' } } }],
    },
  };
  assert.deepEqual(row('autoscaling', 'HorizontalPodAutoscaler', hpa), ['web', 'Deployment/web', 'cpu: 23%/50%, memory: <unknown>/512Mi + 1 more...', '2', 10, 3, '60m']);
  const v1 = { metadata: meta('old', H), spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 80 }, status: { currentReplicas: 1 } };
  assert.deepEqual(row('autoscaling', 'HorizontalPodAutoscaler', v1).slice(1, 6), ['Deployment/web', 'cpu: <unknown>/80%', '1', 5, 1]);
  const none = { metadata: meta('d', H), spec: { scaleTargetRef: { kind: 'StatefulSet', name: 'db' }, maxReplicas: 3 }, status: {} };
  assert.equal(row('autoscaling', 'HorizontalPodAutoscaler', none)[2], 'cpu: <unknown>/80%');

  assert.deepEqual(names('policy', 'PodDisruptionBudget'), ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
  assert.deepEqual(row('policy', 'PodDisruptionBudget', { metadata: meta('web', H), spec: { minAvailable: 2 }, status: { disruptionsAllowed: 1 } }), ['web', '2', 'N/A', 1, '60m']);
  assert.deepEqual(row('policy', 'PodDisruptionBudget', { metadata: meta('db', H), spec: { maxUnavailable: '25%' }, status: {} }), ['db', 'N/A', '25%', 0, '60m']);
});

test('rbac bindings, priority classes, leases, controller revisions', () => {
  assert.deepEqual(names('rbac.authorization.k8s.io', 'RoleBinding'), ['Name', 'Role', 'Age', 'Users', 'Groups', 'ServiceAccounts']);
  assert.deepEqual(wide('rbac.authorization.k8s.io', 'ClusterRoleBinding'), ['Users', 'Groups', 'ServiceAccounts']);
  const rb = {
    metadata: meta('read-pods', D),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
    subjects: [
      { kind: 'User', name: 'jane' },
      { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
      { kind: 'Group', name: 'devs' },
      { kind: 'User', name: 'joe' },
    ],
  };
  assert.deepEqual(row('rbac.authorization.k8s.io', 'RoleBinding', rb), ['read-pods', 'Role/pod-reader', '24h', 'jane, joe', 'devs', 'ci/builder']);
  assert.deepEqual(
    row('rbac.authorization.k8s.io', 'ClusterRoleBinding', { metadata: { name: 'cluster-admin', creationTimestamp: ago(45 * D) }, roleRef: { kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'system:masters' }] }),
    ['cluster-admin', 'ClusterRole/cluster-admin', '45d', '', 'system:masters', ''],
  );

  assert.deepEqual(names('scheduling.k8s.io', 'PriorityClass'), ['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy']);
  assert.deepEqual(row('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'system-node-critical', creationTimestamp: ago(45 * D) }, value: 2000001000, preemptionPolicy: 'PreemptLowerPriority' }), [
    'system-node-critical',
    2000001000,
    false,
    '45d',
    'PreemptLowerPriority',
  ]);

  assert.deepEqual(names('coordination.k8s.io', 'Lease'), ['Name', 'Holder', 'Age']);
  assert.deepEqual(row('coordination.k8s.io', 'Lease', { metadata: meta('node-1', 45 * D), spec: { holderIdentity: 'node-1' } }), ['node-1', 'node-1', '45d']);
  assert.deepEqual(row('coordination.k8s.io', 'Lease', { metadata: meta('free', 45 * D), spec: {} })[1], '');

  assert.deepEqual(names('apps', 'ControllerRevision'), ['Name', 'Controller', 'Revision', 'Age']);
  const cr = {
    metadata: meta('web-5c9b8', H, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] }),
    revision: 2,
  };
  assert.deepEqual(row('apps', 'ControllerRevision', cr), ['web-5c9b8', 'statefulset.apps/web', 2, '60m']);
  assert.equal(row('apps', 'ControllerRevision', { metadata: meta('orphan', H), revision: 1 })[1], '<none>');
});

test('every printer returns one cell per column', () => {
  const seen = new Set<string>();
  for (const r of RESOURCES) {
    const k = `${r.group}/${r.kind}`;
    if (r.virtual || seen.has(k)) continue;
    seen.add(k);
    const cols = tableColumns(r.group, r.kind);
    for (const obj of [{}, { metadata: { name: 'x', creationTimestamp: ago(M) }, spec: {}, status: {} }]) {
      const cells = row(r.group, r.kind, obj);
      assert.equal(cells.length, cols.length, k);
    }
    const t = buildTable(r.group, r.kind, [{ metadata: { name: 'x' } }], { now: NOW, includeObject: 'Metadata', listMeta: {} });
    assert.equal(t.rows[0]!.cells.length, t.columnDefinitions.length, k);
  }
  // Name-format column present exactly once for every kind.
  for (const k of seen) {
    const [group, kind] = [k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1)];
    const nameCols = tableColumns(group, kind).filter((c) => c.format === 'name' && c.name === 'Name');
    assert.equal(nameCols.length, 1, k);
  }
});
