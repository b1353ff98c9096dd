// The "0/N nodes are available" message, exactly as upstream builds and sorts it,
// with the preemption part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FitError, Diagnosis, Status, Code } from '../../scheduler/framework.js';
import { cycle, harness, info, node, pod } from './scheduler-fixtures.js';

const unreachable = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }];

function message(r: ReturnType<typeof cycle>): string {
  assert.equal(r.kind, 'unschedulable');
  return r.kind === 'unschedulable' ? r.message : '';
}

test('the brief\'s example, word for word', () => {
  const h = harness([node('n1', { taints: unreachable }), node('n2', { cpu: '2' }), node('n3', { cpu: '2' })]);
  assert.equal(
    message(cycle(h, pod('big', { cpu: '3' }))),
    '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
  );
});

test('nodes preemption could help but nothing to evict: "No preemption victims found"', () => {
  const h = harness([node('n1', { taints: unreachable }), node('n2', { cpu: '2' }), node('n3', { cpu: '2' })], [pod('a', { nodeName: 'n2', cpu: '1500m' }), pod('b', { nodeName: 'n3', cpu: '1500m' })]);
  assert.equal(
    message(cycle(h, pod('p', { cpu: '1' }))),
    '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  );
});

test('reasons are sorted as strings, as upstream sorts them ("10 …" before "2 …")', () => {
  const nodes = [...Array.from({ length: 10 }, (_, i) => node(`t${i}`, { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })), node('s1', { cpu: '1' }), node('s2', { cpu: '1' })];
  const h = harness(nodes);
  assert.equal(
    message(cycle(h, pod('p', { cpu: '2' }))),
    '0/12 nodes are available: 10 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.',
  );
  const d = new Diagnosis();
  for (let i = 0; i < 3; i++) d.nodeToStatus.set(`a${i}`, new Status(Code.Unschedulable, ['Insufficient cpu', 'Insufficient memory']));
  d.nodeToStatus.set('b', new Status(Code.UnschedulableAndUnresolvable, ["node(s) didn't match Pod's node affinity/selector"]));
  assert.equal(new FitError(info(pod('x')), 4, d).message(), "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 Insufficient cpu, 3 Insufficient memory.");
});

test('preemptionPolicy Never', () => {
  const h = harness([node('n1', { cpu: '1' })], [pod('low', { nodeName: 'n1', cpu: '1', priority: 0 })]);
  assert.equal(message(cycle(h, pod('p', { cpu: '1', priority: 100, preemptionPolicy: 'Never' }))), '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
});

test('PreFilter rejections and empty clusters', () => {
  const h = harness([node('n1'), node('n2')]);
  const conflict = pod('p', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }, { key: 'metadata.name', operator: 'In', values: ['n2'] }] }],
        },
      },
    },
  });
  assert.equal(message(cycle(h, conflict)), '0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  assert.equal(message(cycle(harness([]), pod('q'))), 'no nodes available to schedule pods');
});

test('the other filters\' reasons in one message', () => {
  const nodes = [
    node('cordoned', { unschedulable: true }),
    node('wrongzone', { labels: { zone: 'b' } }),
    node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    node('ports', { labels: { zone: 'a' } }),
    node('full', { labels: { zone: 'a' }, pods: 1 }),
  ];
  const h = harness(nodes, [pod('web', { nodeName: 'ports', hostPorts: [{ port: 80 }] }), pod('x', { nodeName: 'full' })]);
  const p = pod('p', { nodeSelector: { zone: 'a' }, hostPorts: [{ port: 80 }] });
  assert.equal(
    message(cycle(h, p)),
    "0/5 nodes are available: 1 Too many pods, 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
  );
});

test('reasons stay those of the first failing plugin in profile order, whatever order the search tried', () => {
  const zone = 'topology.kubernetes.io/zone';
  const nodes = [
    node('b1', { labels: { [zone]: 'b' } }),
    node('a1', { labels: { [zone]: 'a' }, taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    node('a2', { labels: { [zone]: 'a' } }),
    node('a3', { labels: { [zone]: 'a' }, cpu: '3' }),
    node('c1', { labels: { [zone]: 'c' }, unschedulable: true }),
  ];
  const placed = [pod('x1', { nodeName: 'a2', labels: { app: 's' } }), pod('x2', { nodeName: 'a2', labels: { app: 's' } }), pod('y', { nodeName: 'b1', labels: { app: 's' } }), pod('z', { nodeName: 'a3', cpu: '2' })];
  const h = harness(nodes, placed);
  const p = pod('p', { cpu: '2', labels: { app: 's' }, nodeSelector: { [zone]: 'a' }, spread: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'DoNotSchedule', nodeAffinityPolicy: 'Ignore', labelSelector: { matchLabels: { app: 's' } } }] });
  // Zone a holds 2 matching pods, zone c none: every zone-a node fails spread. a1 fails taints before spread, a3 fails cpu before spread; b1 and c1 fail earlier filters.
  const expected =
    "0/5 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {k: }, 1 node(s) were unschedulable. preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.";
  assert.equal(message(cycle(h, p)), expected);
  // The search keeps its per-node arrays from pod to pod: a pod that leaves fewer nodes
  // unsettled in between, and the same pod again, must not see the earlier entries.
  const small = pod('small', { nodeSelector: { [zone]: 'c' } });
  const alone = message(cycle(harness(nodes, placed), small));
  assert.match(alone, /^0\/5 nodes are available: /);
  assert.equal(message(cycle(h, small)), alone);
  assert.equal(message(cycle(h, p)), expected);
});
