// The quiet waits of test/wait.ts: what a /metrics page says is busy, and that quiet
// must hold on several reads in a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyInMetrics, waitUntilQuiet } from '../wait.js';

test('busyInMetrics: queued or unfinished work and the scheduler active queue are busy; delays and other queues are not', () => {
  const quiet = [
    '# TYPE workqueue_depth gauge',
    'workqueue_depth{name="deployment"} 0',
    'workqueue_unfinished_work_seconds{name="deployment"} 0',
    'scheduler_pending_pods{queue="active"} 0',
    'scheduler_pending_pods{queue="unschedulable"} 3',
    'workqueue_adds_total{name="deployment"} 12',
  ].join('\n');
  assert.equal(busyInMetrics(quiet), undefined);
  assert.equal(busyInMetrics(quiet.replace('workqueue_depth{name="deployment"} 0', 'workqueue_depth{name="deployment"} 2')), 'deployment: 2 queued');
  assert.equal(busyInMetrics(quiet.replace('seconds{name="deployment"} 0', 'seconds{name="deployment"} 0.003')), 'deployment: in process');
  assert.equal(busyInMetrics(quiet.replace('{queue="active"} 0', '{queue="active"} 1')), 'scheduler active queue: 1 pods');
});

test('waitUntilQuiet needs quiet reads in a row, and says what was busy when it times out', async () => {
  const reads = ['busy', undefined, 'busy', undefined, undefined, undefined];
  let n = 0;
  await waitUntilQuiet('test', () => reads[n++], { reads: 3, intervalMs: 1 });
  assert.equal(n, 6);
  await assert.rejects(waitUntilQuiet('test', () => 'queue x: 1 queued', { intervalMs: 1, timeoutMs: 20 }), /timed out waiting for test to be quiet: queue x: 1 queued/);
});
