import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable, humanDuration, tableColumns, tableRow } from '../../apiserver/printers/index.js';
import type { KubeObject } from '../../machinery/object.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
/** RFC 3339 time `ms` before NOW. */
const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const names = (group: string, kind: string) => tableColumns(group, kind).map((c) => c.name);
const wideNames = (group: string, kind: string) => tableColumns(group, kind).filter((c) => c.priority === 1).map((c) => c.name);
const row = (group: string, kind: string, obj: unknown) => tableRow(group, kind, obj as KubeObject, NOW);

test('humanDuration follows the upstream rounding steps', () => {
  const cases: [number, string][] = [
    [-3 * S, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [5 * S, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H + 59 * M, '47h'],
    [2 * D, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D + 5 * H, '8d'],
    [45 * D, '45d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [730 * D + 10 * D, '2y10d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D + 100 * D, '20y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `humanDuration(${ms})`);
});

// ------------------------------------------------------------------------- Pod

const pod = (over: { spec?: object; status?: object; metadata?: object }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'default', creationTimestamp: ago(5 * M), ...over.metadata },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...over.spec },
  status: over.status ?? {},
});

const running = (name = 'app', extra: object = {}) => ({
  name,
  image: 'nginx',
  imageID: '',
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: ago(4 * M) } },
  ...extra,
});
const waiting = (reason: string, extra: object = {}) => ({
  name: 'app',
  image: 'nginx',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason } },
  ...extra,
});
const terminated = (reason: string | undefined, exitCode: number, extra: object = {}) => ({
  name: 'app',
  image: 'nginx',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { reason, exitCode, finishedAt: ago(M) } },
  ...extra,
});
const podStatus = (p: KubeObject) => (row('', 'Pod', p) as string[]).slice(1, 4);

test('pod columns match upstream', () => {
  assert.deepEqual(names('', 'Pod'), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  assert.deepEqual(wideNames('', 'Pod'), ['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  const cols = tableColumns('', 'Pod');
  assert.equal(cols[0]!.format, 'name');
  assert.equal(cols[3]!.type, 'string');
  for (const c of cols) assert.deepEqual(Object.keys(c).sort(), ['description', 'format', 'name', 'priority', 'type']);
});

test('pod status: phases and container states', () => {
  assert.deepEqual(podStatus(pod({ status: { phase: 'Pending' } })), ['0/1', 'Pending', '0']);
  assert.deepEqual(
    podStatus(pod({ status: { phase: 'Pending', containerStatuses: [waiting('ContainerCreating')] } })),
    ['0/1', 'ContainerCreating', '0'],
  );
  assert.deepEqual(
    podStatus(pod({ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running()] } })),
    ['1/1', 'Running', '0'],
  );
  assert.deepEqual(podStatus(pod({ status: { phase: 'Succeeded', containerStatuses: [terminated('Completed', 0)] } })), [
    '0/1',
    'Completed',
    '0',
  ]);
  assert.deepEqual(podStatus(pod({ status: { phase: 'Failed', containerStatuses: [terminated('Error', 1)] } })), ['0/1', 'Error', '0']);
  assert.deepEqual(podStatus(pod({ status: { phase: 'Failed', containerStatuses: [terminated(undefined, 137)] } })), [
    '0/1',
    'ExitCode:137',
    '0',
  ]);
  assert.deepEqual(
    podStatus(pod({ status: { phase: 'Failed', containerStatuses: [terminated(undefined, 0, { state: { terminated: { exitCode: 0, signal: 9 } } })] } })),
    ['0/1', 'Signal:9', '0'],
  );
  assert.deepEqual(podStatus(pod({ status: { phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff')] } })), [
    '0/1',
    'ImagePullBackOff',
    '0',
  ]);
  assert.deepEqual(podStatus(pod({ status: { phase: 'Pending', containerStatuses: [waiting('ErrImagePull')] } })), [
    '0/1',
    'ErrImagePull',
    '0',
  ]);
  // Pod-level reason (evictions) replaces the phase.
  assert.deepEqual(podStatus(pod({ status: { phase: 'Failed', reason: 'Evicted' } })), ['0/1', 'Evicted', '0']);
});

test('pod status: CrashLoopBackOff with restarts and last restart age', () => {
  const p = pod({
    status: {
      phase: 'Running',
      containerStatuses: [
        waiting('CrashLoopBackOff', {
          restartCount: 5,
          lastState: { terminated: { reason: 'Error', exitCode: 1, startedAt: ago(6 * M), finishedAt: ago(5 * M) } },
        }),
      ],
    },
  });
  assert.deepEqual(podStatus(p), ['0/1', 'CrashLoopBackOff', '5 (5m ago)']);
  // Restarts without a recorded termination print the bare count.
  const q = pod({ status: { phase: 'Running', containerStatuses: [running('app', { restartCount: 2 })] } });
  assert.equal(podStatus(q)[2], '2');
});

test('pod status: init containers', () => {
  const initSpec = { initContainers: [{ name: 'init', image: 'busybox' }] };
  const initRunning = { ...running('init'), ready: false };
  assert.deepEqual(
    podStatus(pod({ spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [initRunning], containerStatuses: [waiting('PodInitializing')] } })),
    ['0/1', 'Init:0/1', '0'],
  );
  assert.deepEqual(
    podStatus(
      pod({
        spec: initSpec,
        status: {
          phase: 'Pending',
          initContainerStatuses: [
            waiting('CrashLoopBackOff', {
              name: 'init',
              restartCount: 3,
              lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(40 * S) } },
            }),
          ],
          containerStatuses: [waiting('PodInitializing')],
        },
      }),
    ),
    ['0/1', 'Init:CrashLoopBackOff', '3 (40s ago)'],
  );
  assert.deepEqual(
    podStatus(pod({ spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [terminated('Error', 1, { name: 'init' })] } })),
    ['0/1', 'Init:Error', '0'],
  );
  assert.deepEqual(
    podStatus(pod({ spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [terminated(undefined, 2, { name: 'init' })] } })),
    ['0/1', 'Init:ExitCode:2', '0'],
  );
  // Init done, app container still being created.
  assert.deepEqual(
    podStatus(
      pod({
        spec: initSpec,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [terminated('Completed', 0, { name: 'init' })],
          containerStatuses: [waiting('PodInitializing')],
        },
      }),
    ),
    ['0/1', 'PodInitializing', '0'],
  );
  // Second of two init containers running.
  assert.deepEqual(
    podStatus(
      pod({
        spec: { initContainers: [{ name: 'a' }, { name: 'b' }] },
        status: { phase: 'Pending', initContainerStatuses: [terminated('Completed', 0, { name: 'a' }), { ...running('b'), ready: false }] },
      }),
    ),
    ['0/1', 'Init:1/2', '0'],
  );
});

test('pod status: sidecar (restartable init) containers count towards READY', () => {
  const p = pod({
    spec: { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: [running('proxy', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(4 * H) } } })],
      containerStatuses: [running()],
    },
  });
  assert.deepEqual(podStatus(p), ['2/2', 'Running', '1 (4h ago)']);
});

test('pod status: Completed with a container still running is Running or NotReady', () => {
  const status = {
    phase: 'Running',
    containerStatuses: [terminated('Completed', 0, { name: 'job' }), running('side')],
  };
  assert.deepEqual(podStatus(pod({ status })), ['1/1', 'NotReady', '0']);
  assert.deepEqual(podStatus(pod({ status: { ...status, conditions: [{ type: 'Ready', status: 'True' }] } })), ['1/1', 'Running', '0']);
});

test('pod status: Terminating, Unknown, SchedulingGated', () => {
  const del = { deletionTimestamp: ago(10 * S) };
  assert.equal(podStatus(pod({ metadata: del, status: { phase: 'Running', containerStatuses: [running()] } }))[1], 'Terminating');
  // Finished pods keep their terminal status while being deleted.
  assert.equal(podStatus(pod({ metadata: del, status: { phase: 'Succeeded', containerStatuses: [terminated('Completed', 0)] } }))[1], 'Completed');
  assert.equal(podStatus(pod({ metadata: del, status: { phase: 'Running', reason: 'NodeLost' } }))[1], 'Unknown');
  assert.equal(
    podStatus(pod({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } }))[1],
    'SchedulingGated',
  );
});

test('pod row: full cells including wide columns', () => {
  const p = pod({
    spec: { nodeName: 'node-1', readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
    status: {
      phase: 'Running',
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }],
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'example.com/lb', status: 'True' },
        { type: 'example.com/dns', status: 'False' },
      ],
      containerStatuses: [running()],
    },
  });
  assert.deepEqual(row('', 'Pod', p), ['web-0', '1/1', 'Running', '0', '5m', '10.244.1.7', 'node-1', '<none>', '1/2']);
  const bare = pod({ status: { phase: 'Pending' } });
  assert.deepEqual(row('', 'Pod', bare).slice(4), ['5m', '<none>', '<none>', '<none>', '<none>']);
  // podIP alone (no podIPs) still shows.
  assert.equal(row('', 'Pod', pod({ status: { phase: 'Running', podIP: '10.0.0.9' } }))[5], '10.0.0.9');
});

// ------------------------------------------------------------------------- Service

const svc = (spec: object, status: object = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(3 * D + 2 * H) },
  spec,
  status,
});

test('service rows for each type', () => {
  assert.deepEqual(names('', 'Service'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  assert.deepEqual(
    row('', 'Service', svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], selector: { 'k8s-app': 'kube-dns' } })),
    ['web', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '3d2h', 'k8s-app=kube-dns'],
  );
  assert.deepEqual(
    row('', 'Service', svc({ type: 'NodePort', clusterIPs: ['10.96.1.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }], selector: { tier: 'fe', app: 'web' } })),
    ['web', 'NodePort', '10.96.1.1', '<none>', '80:30080/TCP', '3d2h', 'app=web,tier=fe'],
  );
  assert.deepEqual(
    row('', 'Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.2'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] })).slice(1, 5),
    ['LoadBalancer', '10.96.1.2', '<pending>', '443:31443/TCP'],
  );
  assert.equal(
    row('', 'Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.2'], ports: [{ port: 80 }] }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }, { ip: '203.0.113.10' }] } }))[3],
    '203.0.113.10,203.0.113.9,lb.example.com',
  );
  assert.equal(
    row('', 'Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.2'], externalIPs: ['198.51.100.1'] }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } }))[3],
    '203.0.113.9,198.51.100.1',
  );
  assert.deepEqual(row('', 'Service', svc({ type: 'ExternalName', externalName: 'db.example.com' })).slice(1, 5), [
    'ExternalName',
    '<none>',
    'db.example.com',
    '<none>',
  ]);
  assert.deepEqual(row('', 'Service', svc({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80, protocol: 'TCP' }] })).slice(1, 5), [
    'ClusterIP',
    'None',
    '<none>',
    '80/TCP',
  ]);
  assert.equal(row('', 'Service', svc({ type: 'ClusterIP', clusterIPs: ['10.0.0.1'], externalIPs: ['1.2.3.4', '5.6.7.8'] }))[3], '1.2.3.4,5.6.7.8');
  assert.equal(row('', 'Service', svc({ clusterIPs: ['10.0.0.1'] }))[6], '<none>');
});

// ------------------------------------------------------------------------- Node

const node = (labels: Record<string, string>, over: { spec?: object; conditions?: object[] } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'kite-control-plane', labels, creationTimestamp: ago(45 * D) },
  spec: over.spec ?? {},
  status: {
    conditions: over.conditions ?? [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'Ready', status: 'True' },
    ],
    addresses: [
      { type: 'Hostname', address: 'kite-control-plane' },
      { type: 'InternalIP', address: '172.18.0.2' },
    ],
    nodeInfo: {
      kubeletVersion: 'v1.33.0',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.8.0-45-generic',
      containerRuntimeVersion: 'containerd://2.0.3',
    },
  },
});

test('node rows: status, roles, wide columns', () => {
  assert.deepEqual(names('', 'Node'), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
  assert.deepEqual(row('', 'Node', node({ 'node-role.kubernetes.io/control-plane': '' })), [
    'kite-control-plane',
    'Ready',
    'control-plane',
    '45d',
    'v1.33.0',
    '172.18.0.2',
    '<none>',
    'Debian GNU/Linux 12 (bookworm)',
    '6.8.0-45-generic',
    'containerd://2.0.3',
  ]);
  const cordoned = node({ 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/infra': '', 'kubernetes.io/role': 'edge' }, { spec: { unschedulable: true } });
  assert.deepEqual(row('', 'Node', cordoned).slice(1, 3), ['Ready,SchedulingDisabled', 'edge,infra,worker']);
  assert.deepEqual(row('', 'Node', node({}, { conditions: [{ type: 'Ready', status: 'Unknown' }] })).slice(1, 3), ['NotReady', '<none>']);
  assert.equal(row('', 'Node', node({}, { conditions: [] }))[1], 'Unknown');
  assert.equal(row('', 'Node', node({ 'node-role.kubernetes.io/': '' }))[2], '<none>');
  const bare: KubeObject = { metadata: { name: 'n', creationTimestamp: ago(10 * S) }, status: {} };
  assert.deepEqual(row('', 'Node', bare).slice(1), ['Unknown', '<none>', '10s', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
});

// ------------------------------------------------------------------------- Events

test('event rows as kubectl get events shows them', () => {
  assert.deepEqual(names('', 'Event'), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  assert.deepEqual(wideNames('', 'Event'), ['Subobject', 'Source', 'First Seen', 'Count', 'Name']);
  const cols = tableColumns('', 'Event');
  assert.equal(cols.find((c) => c.name === 'Name')!.format, 'name');
  assert.deepEqual(tableColumns('events.k8s.io', 'Event'), cols);

  const ev: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-0.17f3a', namespace: 'default', creationTimestamp: ago(10 * M) },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0', fieldPath: 'spec.containers{app}' },
    reason: 'Pulled',
    message: 'Successfully pulled image "nginx:1.27"\n',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(10 * M),
    lastTimestamp: ago(2 * M + 5 * S),
    count: 3,
    type: 'Normal',
  };
  assert.deepEqual(row('', 'Event', ev), [
    '2m5s',
    'Normal',
    'Pulled',
    'pod/web-0',
    'spec.containers{app}',
    'kubelet, node-1',
    'Successfully pulled image "nginx:1.27"',
    '10m',
    3,
    'web-0.17f3a',
  ]);

  // New-style event recorded through core/v1: only eventTime and reportingComponent set.
  const micro: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'x', creationTimestamp: ago(30 * S) },
    involvedObject: { kind: 'Node', name: 'node-1' },
    reason: 'RegisteredNode',
    message: 'Node node-1 event',
    eventTime: new Date(NOW - 30 * S).toISOString().replace('Z', '000Z'),
    reportingComponent: 'node-controller',
    type: 'Normal',
  };
  assert.deepEqual(row('', 'Event', micro), ['30s', 'Normal', 'RegisteredNode', 'node/node-1', '', 'node-controller', 'Node node-1 event', '30s', 1, 'x']);

  // Series: last seen and count come from the series.
  const series = { ...micro, series: { count: 7, lastObservedTime: new Date(NOW - 4 * S).toISOString() } };
  const r = row('', 'Event', series);
  assert.equal(r[0], '4s');
  assert.equal(r[8], 7);

  // events.k8s.io/v1 shape.
  const v1: KubeObject = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'y', namespace: 'default', creationTimestamp: ago(3 * H) },
    regarding: { kind: 'Deployment', name: 'web', namespace: 'default' },
    reason: 'ScalingReplicaSet',
    note: 'Scaled up replica set web-7d4b9 to 3',
    type: 'Normal',
    eventTime: null,
    deprecatedSource: { component: 'deployment-controller' },
    deprecatedFirstTimestamp: ago(3 * H),
    deprecatedLastTimestamp: ago(3 * H),
    deprecatedCount: 1,
    reportingController: 'deployment-controller',
  };
  assert.deepEqual(row('events.k8s.io', 'Event', v1), [
    '3h',
    'Normal',
    'ScalingReplicaSet',
    'deployment/web',
    '',
    'deployment-controller',
    'Scaled up replica set web-7d4b9 to 3',
    '3h',
    1,
    'y',
  ]);
  // An event about a kind without a name.
  const noName = { ...micro, involvedObject: { kind: 'Cluster' } };
  assert.equal(row('', 'Event', noName)[3], 'cluster');
});

// ------------------------------------------------------------------------- buildTable

test('buildTable: metadata, row objects, pod row conditions', () => {
  const p1 = pod({ status: { phase: 'Running', containerStatuses: [running()] } });
  const p2 = { ...pod({ status: { phase: 'Succeeded' } }), metadata: { name: 'done', namespace: 'default', creationTimestamp: ago(D) } };
  const t = buildTable('', 'Pod', [p1, p2], { now: NOW, includeObject: 'Metadata', listMeta: { resourceVersion: '42', continue: 'abc', remainingItemCount: 3 } });
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(t.metadata, { resourceVersion: '42', continue: 'abc', remainingItemCount: 3 });
  assert.equal(t.columnDefinitions, tableColumns('', 'Pod'));
  assert.equal(t.rows.length, 2);
  assert.deepEqual(t.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: p1.metadata });
  assert.equal(t.rows[0]!.conditions, undefined);
  assert.deepEqual(t.rows[1]!.conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  assert.equal(t.rows[1]!.cells[0], 'done');
  for (const r of t.rows) assert.equal(r.cells.length, t.columnDefinitions.length);

  // Full objects get kind/apiVersion when the stored copy lacks them.
  const bare: KubeObject = { metadata: { name: 'd', namespace: 'default', creationTimestamp: ago(M) }, spec: { replicas: 2 }, status: {} };
  const full = buildTable('apps', 'Deployment', [bare], { now: NOW, includeObject: 'Object', listMeta: {} });
  assert.deepEqual(full.metadata, {});
  const o = full.rows[0]!.object as KubeObject;
  assert.equal(o.kind, 'Deployment');
  assert.equal(o.apiVersion, 'apps/v1');
  assert.deepEqual(o.spec, { replicas: 2 });
  assert.equal(bare.kind, undefined, 'input not mutated');
  const withKind = buildTable('', 'Pod', [p1], { now: NOW, includeObject: 'Object', listMeta: {} });
  assert.equal(withKind.rows[0]!.object, p1);
  const hpa = buildTable('autoscaling', 'HorizontalPodAutoscaler', [bare], { now: NOW, includeObject: 'Object', listMeta: {} });
  assert.equal((hpa.rows[0]!.object as KubeObject).apiVersion, 'autoscaling/v2');
  const ev = buildTable('events.k8s.io', 'Event', [{ metadata: { name: 'e' } }], { now: NOW, includeObject: 'Object', listMeta: {} });
  assert.equal((ev.rows[0]!.object as KubeObject).apiVersion, 'events.k8s.io/v1');

  const none = buildTable('', 'Pod', [p1], { now: NOW, includeObject: 'None', listMeta: { resourceVersion: '7' } });
  assert.equal(none.rows[0]!.object, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(none)).rows[0], { cells: row('', 'Pod', p1) });

  // A watch event is a table with one row.
  const one = buildTable('', 'Namespace', [{ metadata: { name: 'kube-system', creationTimestamp: ago(H) }, status: { phase: 'Active' } }], {
    now: NOW,
    includeObject: 'Metadata',
    listMeta: { resourceVersion: '9' },
  });
  assert.equal(one.rows.length, 1);
  assert.deepEqual(one.rows[0]!.cells, ['kube-system', 'Active', '60m']);
});

test('kinds without a printer get the generic Name / Created At table', () => {
  for (const [g, k] of [
    ['rbac.authorization.k8s.io', 'Role'],
    ['rbac.authorization.k8s.io', 'ClusterRole'],
    ['', 'LimitRange'],
    ['apiextensions.k8s.io', 'CustomResourceDefinition'],
    ['example.com', 'Widget'],
  ] as const) {
    const cols = tableColumns(g, k);
    assert.deepEqual(
      cols.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Created At', 'date', '', 0],
      ],
      `${g}/${k}`,
    );
  }
  const role = { metadata: { name: 'pod-reader', namespace: 'default', creationTimestamp: '2025-05-30T08:15:00Z' } };
  assert.deepEqual(row('rbac.authorization.k8s.io', 'Role', role), ['pod-reader', '2025-05-30T08:15:00Z']);
  assert.deepEqual(row('', 'LimitRange', { metadata: { name: 'lr', creationTimestamp: '2025-05-30T08:15:00.123+02:00' } }), ['lr', '2025-05-30T06:15:00Z']);
});
