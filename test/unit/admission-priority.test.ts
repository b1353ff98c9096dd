// The Priority admission plugin: priority and preemptionPolicy from the class, the
// globalDefault class, unknown classes refused, one default only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import { priorityAdmission } from '../../apiserver/admission/priority.js';
import type { AdmissionRequest } from '../../apiserver/admission/chain.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const CLASSES = resourceByPath('scheduling.k8s.io', 'v1', 'priorityclasses')!;

function plugin(classes: KubeObject[]) {
  return priorityAdmission({ priorityClass: (n) => classes.find((c) => c.metadata?.name === n), priorityClasses: () => classes });
}

function podRequest(spec: Record<string, unknown>, operation: 'CREATE' | 'UPDATE' = 'CREATE', oldSpec?: Record<string, unknown>): AdmissionRequest {
  return {
    operation,
    resource: PODS,
    subresource: '',
    namespace: 'default',
    name: 'p',
    object: { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } },
    oldObject: oldSpec ? { metadata: { name: 'p' }, spec: oldSpec } : undefined,
    user: { name: 'u', groups: [] },
    dryRun: false,
    warnings: [],
  };
}

const high: KubeObject = { metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' };
const dflt: KubeObject = { metadata: { name: 'everyday' }, value: 50, globalDefault: true };

test('a named class gives priority and preemption policy', () => {
  const req = podRequest({ priorityClassName: 'high' });
  plugin([high]).admit!(req);
  assert.equal((req.object!.spec as Record<string, unknown>).priority, 1000);
  assert.equal((req.object!.spec as Record<string, unknown>).preemptionPolicy, 'Never');
});

test('without a class the globalDefault class applies; without one, priority 0', () => {
  const req = podRequest({});
  plugin([high, dflt]).admit!(req);
  const spec = req.object!.spec as Record<string, unknown>;
  assert.equal(spec.priority, 50);
  assert.equal(spec.priorityClassName, 'everyday');
  assert.equal(spec.preemptionPolicy, 'PreemptLowerPriority');
  const none = podRequest({});
  plugin([high]).admit!(none);
  assert.equal((none.object!.spec as Record<string, unknown>).priority, 0);
  assert.equal((none.object!.spec as Record<string, unknown>).priorityClassName, undefined);
});

test('system classes exist without objects', () => {
  const req = podRequest({ priorityClassName: 'system-cluster-critical' });
  plugin([]).admit!(req);
  assert.equal((req.object!.spec as Record<string, unknown>).priority, 2000000000);
});

test('an unknown class is refused with upstream words', () => {
  assert.throws(() => plugin([]).admit!(podRequest({ priorityClassName: 'missing' })), { message: 'pods "p" is forbidden: no PriorityClass with name missing was found' });
});

test('a priority that disagrees with the class is refused', () => {
  assert.throws(() => plugin([high]).admit!(podRequest({ priorityClassName: 'high', priority: 7 })), {
    message: 'pods "p" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
  });
});

test('updates keep the priority computed at create', () => {
  const req = podRequest({ priorityClassName: 'high' }, 'UPDATE', { priorityClassName: 'high', priority: 1000, preemptionPolicy: 'Never' });
  plugin([high]).admit!(req);
  assert.equal((req.object!.spec as Record<string, unknown>).priority, 1000);
});

test('only one PriorityClass may be the global default', () => {
  const req: AdmissionRequest = { ...podRequest({}), resource: CLASSES, name: 'second', object: { metadata: { name: 'second' }, value: 1, globalDefault: true } };
  assert.throws(() => plugin([dflt]).validate!(req), { message: 'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass everyday is already marked as default. Only one default can exist' });
});
