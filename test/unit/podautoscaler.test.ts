// The HPA's replica calculation and rate limits (controllers/podautoscaler), on upstream's cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { calculateReplicas, scaleDownLimit, scaleUpLimit } from '../../controllers/podautoscaler/horizontal.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const old = new Date(NOW - 10 * 60_000).toISOString();

function pod(name: string, cpuRequest = '100m', ready = true, phase = 'Running'): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: cpuRequest } } }] },
    status: { phase, startTime: old, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: old }] },
  };
}

const metrics = (values: Record<string, number>) => new Map(Object.entries(values).map(([k, v]) => [k, { value: v, timestamp: NOW - 5000, windowMs: 10_000 }]));
const requests = (pods: Pod[]) => new Map(pods.map((p) => [p.metadata!.name!, 100]));

test('utilization: scale up by the usage ratio, rounded up', () => {
  const pods = [pod('a'), pod('b')];
  const r = calculateReplicas(2, pods, metrics({ a: 250, b: 250 }), 'cpu', NOW, { utilization: 50 }, requests(pods));
  assert.equal(r.replicas, 10);
  assert.equal(r.utilization, 250);
});

test('within the 10 % tolerance nothing changes', () => {
  const pods = [pod('a'), pod('b')];
  assert.equal(calculateReplicas(2, pods, metrics({ a: 54, b: 54 }), 'cpu', NOW, { utilization: 50 }, requests(pods)).replicas, 2);
});

test('scale down: missing pods count as using their request', () => {
  const pods = [pod('a'), pod('b'), pod('c')];
  // a and b at 10 %, c missing (100 %): ratio (10+10+100)/300/0.5 = 0.8 → ceil(0.8*3) = 3 → no change
  assert.equal(calculateReplicas(3, pods, metrics({ a: 10, b: 10 }), 'cpu', NOW, { utilization: 50 }, requests(pods)).replicas, 3);
  assert.equal(calculateReplicas(3, pods, metrics({ a: 0, b: 0 }), 'cpu', NOW, { utilization: 90 }, requests(pods)).replicas, 2);
});

test('scale up: unready pods count as using nothing', () => {
  const pods = [pod('a'), pod('b', '100m', false)];
  // a at 200 % of a 50 % target; b unready → 0: ratio 2 → ceil(2*2)=4 after rebalancing (1+? ) = (200+0)/200/0.5 = 2 → 4
  assert.equal(calculateReplicas(2, pods, metrics({ a: 200, b: 300 }), 'cpu', NOW, { utilization: 50 }, requests(pods)).replicas, 4);
});

test('average value targets', () => {
  const pods = [pod('a'), pod('b')];
  assert.equal(calculateReplicas(2, pods, metrics({ a: 400, b: 400 }), 'cpu', NOW, { averageMilli: 200 }).replicas, 4);
});

test('a pod without a request is an error naming it', () => {
  const pods = [pod('a')];
  delete pods[0].spec!.containers[0].resources;
  assert.throws(() => calculateReplicas(1, pods, metrics({ a: 1 }), 'cpu', NOW, { utilization: 50 }, new Map([['a', 0]])), /no metrics returned matched known pods|missing request/);
});

test('behavior policies: Pods and Percent, selectPolicy, past events', () => {
  const rules = { selectPolicy: 'Max' as const, policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
  assert.equal(scaleUpLimit(1, [], rules, NOW), 5);
  assert.equal(scaleUpLimit(10, [], rules, NOW), 20);
  assert.equal(scaleUpLimit(10, [], { ...rules, selectPolicy: 'Min' }, NOW), 14);
  // 6 replicas were added 5 s ago: the period started at 4
  assert.equal(scaleUpLimit(10, [{ change: 6, at: NOW - 5000 }], rules, NOW), 8);
  assert.equal(scaleUpLimit(10, [], { ...rules, selectPolicy: 'Disabled' }, NOW), 10);
  const down = { selectPolicy: 'Max' as const, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }, { type: 'Pods', value: 1, periodSeconds: 60 }] };
  assert.equal(scaleDownLimit(10, [], down, NOW), 5);
  assert.equal(scaleDownLimit(10, [], { ...down, selectPolicy: 'Min' }, NOW), 9);
});
