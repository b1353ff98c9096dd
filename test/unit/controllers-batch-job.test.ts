// The Job controller against the in-process API: pods from the template, tracking
// finalizers, counting, completion, failure, back-off, deadlines, suspend, Indexed Jobs
// and pod failure policies. Pod phases are written by the test, as a kubelet would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { JOBS, PODS, condition, eventsFor, getJob, jobManifest, podsOf, setPod, startBatch, until } from './controllers-batch-fixture.js';
import { waitForQuietInProcess } from '../wait.js';

const FINALIZER = 'batch.kubernetes.io/job-tracking';

test('a Job creates its pod from the template, tracks it with the finalizer and completes', async () => {
  const env = await startBatch();
  try {
    const t = env.cluster.transport;
    const created = await t.create<Job>(JOBS, 'default', jobManifest('pi'));
    const [pod] = await until('the pod', async () => {
      const p = await podsOf(env, 'pi');
      return p.length === 1 && p;
    });
    assert.match(pod.metadata!.name!, /^pi-[a-z0-9]{5}$/);
    assert.equal(pod.metadata!.generateName, 'pi-');
    assert.deepEqual(pod.metadata!.finalizers, [FINALIZER]);
    const uid = created.metadata!.uid!;
    assert.deepEqual(
      { ...pod.metadata!.labels },
      { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' },
    );
    assert.deepEqual(pod.metadata!.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid, controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(pod.spec!.containers[0].command, ['sh', '-c', 'echo done']);

    const running = await until('active 1', async () => {
      const j = await getJob(env, 'pi');
      return j.status?.active === 1 && j;
    });
    assert.ok(running.status!.startTime, 'startTime is set');
    assert.equal(running.status!.ready, 0);
    assert.equal(running.status!.terminating, 0);
    assert.deepEqual(running.status!.uncountedTerminatedPods, {});

    await setPod(env, pod.metadata!.name!, { phase: 'Running', ready: true });
    await until('ready 1', async () => (await getJob(env, 'pi')).status?.ready === 1);

    await setPod(env, pod.metadata!.name!, { phase: 'Succeeded' });
    const done = await until('Complete', async () => {
      const j = await getJob(env, 'pi');
      return condition(j, 'Complete')?.status === 'True' && j;
    });
    assert.equal(done.status!.succeeded, 1);
    assert.equal(done.status!.active, undefined);
    assert.equal(done.status!.failed, undefined);
    assert.ok(done.status!.completionTime);
    const sc = condition(done, 'SuccessCriteriaMet')!;
    assert.equal(sc.status, 'True');
    assert.equal(sc.reason, 'CompletionsReached');
    assert.equal(sc.message, 'Reached expected number of succeeded pods');
    assert.equal(condition(done, 'Complete')!.reason, 'CompletionsReached');
    assert.equal(done.status!.conditions!.map((c) => c.type).join(','), 'SuccessCriteriaMet,Complete');
    assert.equal(done.status!.completionTime, condition(done, 'Complete')!.lastTransitionTime);

    // Counted: the finalizer is gone, the pod stays.
    const after = await t.get<Pod>(PODS, 'default', pod.metadata!.name!);
    assert.deepEqual(after.metadata!.finalizers ?? [], []);

    const events = await eventsFor(env, 'pi');
    const reasons = events.map((e) => `${e.type}/${e.reason}: ${e.message}`);
    assert.ok(reasons.includes(`Normal/SuccessfulCreate: Created pod: ${pod.metadata!.name}`), reasons.join('\n'));
    assert.ok(reasons.includes('Normal/Completed: Job completed'), reasons.join('\n'));
    assert.equal(events[0].source?.component, 'job-controller');
  } finally {
    await env.close();
  }
});

test('completions and parallelism: never more active than parallelism or than remaining completions', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('batch', { completions: 5, parallelism: 2 }));
    let pods = await until('2 pods', async () => {
      const p = await podsOf(env, 'batch');
      return p.length === 2 && p;
    });
    await waitForQuietInProcess();
    assert.equal((await podsOf(env, 'batch')).length, 2, 'parallelism caps the active pods');
    let succeeded = 0;
    while (succeeded < 5) {
      const running = pods.filter((p) => p.status?.phase !== 'Succeeded');
      await setPod(env, running[0].metadata!.name!, { phase: 'Succeeded' });
      succeeded++;
      pods = await until(`pods after ${succeeded} succeeded`, async () => {
        const p = await podsOf(env, 'batch');
        const active = p.filter((x) => x.status?.phase !== 'Succeeded').length;
        return active === Math.min(2, 5 - succeeded) && p.length === succeeded + active && p;
      });
      const active = pods.filter((x) => x.status?.phase !== 'Succeeded').length;
      assert.ok(active <= 2);
    }
    const done = await until('Complete', async () => {
      const j = await getJob(env, 'batch');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status!.succeeded, 5);
    assert.equal((await podsOf(env, 'batch')).length, 5, 'exactly 5 pods ever created');
  } finally {
    await env.close();
  }
});

test('a failing pod is replaced after the back-off; beyond backoffLimit the Job fails with BackoffLimitExceeded', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('flaky', { backoffLimit: 1 }));
    const [first] = await until('first pod', async () => {
      const p = await podsOf(env, 'flaky');
      return p.length === 1 && p;
    });
    await setPod(env, first.metadata!.name!, { phase: 'Failed', exitCode: 3 });
    const j1 = await until('failed 1', async () => {
      const j = await getJob(env, 'flaky');
      return j.status?.failed === 1 && j;
    });
    assert.equal(condition(j1, 'Failed'), undefined);
    // The replacement waits for the back-off (10 s after the failure).
    await waitForQuietInProcess();
    assert.equal((await podsOf(env, 'flaky')).length, 1, 'no replacement during the back-off');
    env.clock.advance(11_000);
    env.jobs!.enqueue('default/flaky');
    const second = await until('the replacement', async () => {
      const p = await podsOf(env, 'flaky');
      return p.length === 2 && p.find((x) => x.metadata!.name !== first.metadata!.name);
    });
    await setPod(env, second.metadata!.name!, { phase: 'Failed', exitCode: 3 });
    const failed = await until('Failed', async () => {
      const j = await getJob(env, 'flaky');
      return condition(j, 'Failed')?.status === 'True' && j;
    });
    assert.equal(failed.status!.failed, 2);
    const ft = condition(failed, 'FailureTarget')!;
    assert.equal(ft.reason, 'BackoffLimitExceeded');
    assert.equal(ft.message, 'Job has reached the specified backoff limit');
    assert.equal(condition(failed, 'Failed')!.reason, 'BackoffLimitExceeded');
    assert.equal(failed.status!.completionTime, undefined, 'a failed Job has no completionTime');
    assert.equal((await podsOf(env, 'flaky')).length, 2, 'no pod after the failure');
    const events = (await eventsFor(env, 'flaky')).map((e) => `${e.type}/${e.reason}: ${e.message}`);
    assert.ok(events.includes('Warning/BackoffLimitExceeded: Job has reached the specified backoff limit'), events.join('\n'));
  } finally {
    await env.close();
  }
});

test('back-off grows 10 s, 20 s, 40 s ... between failures (clock-driven)', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('slow', { backoffLimit: 10 }));
    const [p1] = await until('pod', async () => {
      const p = await podsOf(env, 'slow');
      return p.length === 1 && p;
    });
    // Failure times are whole seconds (as the kubelet writes them): keep the clock on one.
    const f1 = Math.floor(env.clock.now() / 1000) * 1000;
    await setPod(env, p1.metadata!.name!, { phase: 'Failed', finishedAt: f1 });
    await until('failed 1', async () => (await getJob(env, 'slow')).status?.failed === 1);
    env.clock.set(f1 + 9_000);
    env.jobs!.enqueue('default/slow');
    await waitForQuietInProcess();
    assert.equal((await podsOf(env, 'slow')).length, 1, 'still none after 9 s');
    env.clock.set(f1 + 10_100);
    env.jobs!.enqueue('default/slow');
    const p2 = await until('replacement after 10 s', async () => {
      const p = await podsOf(env, 'slow');
      return p.length === 2 && p.find((x) => x.metadata!.name !== p1.metadata!.name);
    });
    const f2 = f1 + 12_000;
    env.clock.set(f2);
    await setPod(env, p2.metadata!.name!, { phase: 'Failed', finishedAt: f2 });
    await until('failed 2', async () => (await getJob(env, 'slow')).status?.failed === 2);
    env.clock.set(f2 + 19_000);
    env.jobs!.enqueue('default/slow');
    await waitForQuietInProcess();
    assert.equal((await podsOf(env, 'slow')).length, 2, 'the second back-off is 20 s');
    env.clock.set(f2 + 20_100);
    env.jobs!.enqueue('default/slow');
    await until('replacement after 20 s', async () => (await podsOf(env, 'slow')).length === 3);
  } finally {
    await env.close();
  }
});

test('activeDeadlineSeconds: past the deadline active pods are deleted and the Job fails with DeadlineExceeded', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('deadline', { activeDeadlineSeconds: 30, parallelism: 2, completions: 4 }));
    await until('2 pods', async () => (await podsOf(env, 'deadline')).length === 2);
    env.clock.advance(31_000);
    env.jobs!.enqueue('default/deadline');
    const failed = await until('Failed', async () => {
      const j = await getJob(env, 'deadline');
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(failed, 'Failed')!.reason, 'DeadlineExceeded');
    assert.equal(condition(failed, 'Failed')!.message, 'Job was active longer than specified deadline');
    assert.equal(failed.status!.failed, 2, 'the pods that were running count as failed');
    assert.equal(failed.status!.active, undefined);
    await until('pods gone', async () => (await podsOf(env, 'deadline')).length === 0);
    const events = (await eventsFor(env, 'deadline')).map((e) => `${e.type}/${e.reason}`);
    assert.ok(events.includes('Warning/DeadlineExceeded'));
    assert.equal(events.filter((e) => e === 'Normal/SuccessfulDelete').length, 2);
  } finally {
    await env.close();
  }
});

test('suspend: no pods while suspended (Suspended condition), resume creates them and resets startTime', async () => {
  const env = await startBatch();
  try {
    const t = env.cluster.transport;
    await t.create<Job>(JOBS, 'default', jobManifest('sus', { suspend: true, parallelism: 2, completions: 2 }));
    const j = await until('Suspended', async () => {
      const x = await getJob(env, 'sus');
      return condition(x, 'Suspended')?.status === 'True' && x;
    });
    assert.equal(condition(j, 'Suspended')!.reason, 'JobSuspended');
    assert.equal(j.status!.startTime, undefined);
    assert.equal((await podsOf(env, 'sus')).length, 0);

    await t.patch(JOBS, 'default', 'sus', 'merge', { spec: { suspend: false } });
    const resumed = await until('resumed', async () => {
      const x = await getJob(env, 'sus');
      return condition(x, 'Suspended')?.status === 'False' && x;
    });
    assert.equal(condition(resumed, 'Suspended')!.reason, 'JobResumed');
    assert.ok(resumed.status!.startTime);
    await until('2 pods', async () => (await podsOf(env, 'sus')).length === 2);

    // Suspending again deletes the active pods (their finalizers removed: not counted).
    await t.patch(JOBS, 'default', 'sus', 'merge', { spec: { suspend: true } });
    await until('pods deleted', async () => (await podsOf(env, 'sus')).length === 0);
    const again = await until('Suspended again', async () => {
      const x = await getJob(env, 'sus');
      return condition(x, 'Suspended')?.status === 'True' && x.status?.active === undefined && x;
    });
    assert.equal(again.status!.failed, undefined, 'suspension is not failure');
    const events = (await eventsFor(env, 'sus')).map((e) => e.reason);
    assert.ok(events.includes('Suspended') && events.includes('Resumed'));
  } finally {
    await env.close();
  }
});

test('Indexed Job: index annotation and label, hostname, JOB_COMPLETION_INDEX, completedIndexes', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('idx', { completionMode: 'Indexed', completions: 3, parallelism: 3 }));
    const pods = await until('3 pods', async () => {
      const p = await podsOf(env, 'idx');
      return p.length === 3 && p;
    });
    const byIndex = new Map(pods.map((p) => [p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'], p]));
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
    for (const [ix, p] of byIndex) {
      assert.equal(p.metadata!.labels!['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec!.hostname, `idx-${ix}`);
      assert.equal(p.metadata!.generateName, `idx-${ix}-`);
      assert.deepEqual(p.spec!.containers[0].env, [
        { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } } },
      ]);
    }
    await setPod(env, byIndex.get('2')!.metadata!.name!, { phase: 'Succeeded' });
    await until('completedIndexes 2', async () => (await getJob(env, 'idx')).status?.completedIndexes === '2');
    await setPod(env, byIndex.get('0')!.metadata!.name!, { phase: 'Succeeded' });
    await until('completedIndexes 0,2', async () => (await getJob(env, 'idx')).status?.completedIndexes === '0,2');
    // Index 1 fails: a new pod for index 1 only.
    await setPod(env, byIndex.get('1')!.metadata!.name!, { phase: 'Failed' });
    env.clock.advance(11_000);
    env.jobs!.enqueue('default/idx');
    const replacement = await until('replacement for index 1', async () => {
      const p = await podsOf(env, 'idx');
      return p.length === 4 && p.find((x) => x.status?.phase !== 'Failed' && x.status?.phase !== 'Succeeded');
    });
    assert.equal(replacement.metadata!.annotations!['batch.kubernetes.io/job-completion-index'], '1');
    await setPod(env, replacement.metadata!.name!, { phase: 'Succeeded' });
    const done = await until('Complete', async () => {
      const j = await getJob(env, 'idx');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status!.completedIndexes, '0-2');
    assert.equal(done.status!.succeeded, 3);
    assert.equal(done.status!.failed, 1);
  } finally {
    await env.close();
  }
});

test('podFailurePolicy: FailJob on an exit code fails the Job at once (reason PodFailurePolicy); Ignore does not count', async () => {
  const env = await startBatch({ job: { podFailureBackoff: { baseMs: 10, maxMs: 100 } } });
  try {
    const policy = {
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
        { action: 'Count', onExitCodes: { operator: 'NotIn', values: [0] } },
      ],
    };
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('pfp', { backoffLimit: 3, podFailurePolicy: policy }));
    const [p1] = await until('pod', async () => {
      const p = await podsOf(env, 'pfp');
      return p.length === 1 && p;
    });
    // A disruption: ignored, not counted, replaced.
    await setPod(env, p1.metadata!.name!, { phase: 'Failed', exitCode: 137, conditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    const p2 = await until('replacement', async () => {
      const p = await podsOf(env, 'pfp');
      return p.length === 2 && p.find((x) => x.metadata!.name !== p1.metadata!.name);
    });
    const j = await getJob(env, 'pfp');
    assert.equal(j.status?.failed, undefined, 'an ignored failure is not counted');
    await setPod(env, p2.metadata!.name!, { phase: 'Failed', exitCode: 42 });
    const failed = await until('Failed', async () => {
      const x = await getJob(env, 'pfp');
      return condition(x, 'Failed') && x;
    });
    const c = condition(failed, 'Failed')!;
    assert.equal(c.reason, 'PodFailurePolicy');
    assert.equal(c.message, `Container main for pod default/${p2.metadata!.name} failed with exit code 42 matching FailJob rule at index 1`);
    assert.equal(condition(failed, 'FailureTarget')!.reason, 'PodFailurePolicy');
    assert.equal(failed.status!.failed, 1);
  } finally {
    await env.close();
  }
});

test('backoffLimitPerIndex: an index failing beyond its limit is a failed index; the Job fails with FailedIndexes', async () => {
  const env = await startBatch({ job: { podFailureBackoff: { baseMs: 10, maxMs: 100 } } });
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('per', { completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimitPerIndex: 1 }));
    const pods = await until('2 pods', async () => {
      const p = await podsOf(env, 'per');
      return p.length === 2 && p;
    });
    const ix = (p: Pod) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'];
    const p0 = pods.find((p) => ix(p) === '0')!;
    const p1 = pods.find((p) => ix(p) === '1')!;
    assert.equal(p0.metadata!.annotations!['batch.kubernetes.io/job-index-failure-count'], '0');
    await setPod(env, p1.metadata!.name!, { phase: 'Succeeded' });
    await setPod(env, p0.metadata!.name!, { phase: 'Failed' });
    const retry = await until('index 0 retried', async () => {
      const p = await podsOf(env, 'per');
      return p.find((x) => ix(x) === '0' && x.metadata!.name !== p0.metadata!.name);
    });
    assert.equal(retry.metadata!.annotations!['batch.kubernetes.io/job-index-failure-count'], '1');
    await setPod(env, retry.metadata!.name!, { phase: 'Failed' });
    const failed = await until('Failed', async () => {
      const x = await getJob(env, 'per');
      return condition(x, 'Failed') && x;
    });
    assert.equal(condition(failed, 'Failed')!.reason, 'FailedIndexes');
    assert.equal(failed.status!.failedIndexes, '0');
    assert.equal(failed.status!.completedIndexes, '1');
    assert.equal(failed.status!.failed, 2);
  } finally {
    await env.close();
  }
});

test('a deleted pod counts as failed and is replaced after the back-off (TerminatingOrFailed); with podReplacementPolicy Failed only once it has failed', async () => {
  const env = await startBatch();
  try {
    const t = env.cluster.transport;
    await t.create<Job>(JOBS, 'default', jobManifest('rp-any', { backoffLimit: 5 }));
    await t.create<Job>(JOBS, 'default', jobManifest('rp-failed', { podReplacementPolicy: 'Failed', backoffLimit: 5 }));
    for (const name of ['rp-any', 'rp-failed']) {
      const [p1] = await until(`pod of ${name}`, async () => {
        const p = await podsOf(env, name);
        return p.length === 1 && p;
      });
      await setPod(env, p1.metadata!.name!, { phase: 'Running' });
      // The tracking finalizer keeps the deleted pod around, terminating.
      await t.delete(PODS, 'default', p1.metadata!.name!);
      if (name === 'rp-any') {
        // Counted as failed, and (after the failure back-off) replaced.
        await until('failed 1', async () => (await getJob(env, name)).status?.failed === 1);
        env.clock.advance(11_000);
        env.jobs!.enqueue(`default/${name}`);
        await until('replacement', async () => (await podsOf(env, name)).filter((p) => !p.metadata!.deletionTimestamp).length === 1);
        continue;
      }
      await until('terminating 1', async () => (await getJob(env, name)).status?.terminating === 1);
      env.clock.advance(11_000);
      env.jobs!.enqueue(`default/${name}`);
      await waitForQuietInProcess();
      assert.equal((await podsOf(env, name)).filter((p) => !p.metadata!.deletionTimestamp).length, 0, 'no replacement while terminating');
      assert.equal((await getJob(env, name)).status?.failed, undefined);
      await setPod(env, p1.metadata!.name!, { phase: 'Failed' });
      await until('failed 1', async () => (await getJob(env, name)).status?.failed === 1);
      env.clock.advance(11_000);
      env.jobs!.enqueue(`default/${name}`);
      await until('replacement', async () => (await podsOf(env, name)).filter((p) => !p.metadata!.deletionTimestamp).length === 1);
    }
  } finally {
    await env.close();
  }
});

test('a deleted Job releases its pods: the tracking finalizer is removed from the orphans', async () => {
  const env = await startBatch();
  try {
    const t = env.cluster.transport;
    await t.create<Job>(JOBS, 'default', jobManifest('gone', { parallelism: 2, completions: 2 }));
    const pods = await until('2 pods', async () => {
      const p = await podsOf(env, 'gone');
      return p.length === 2 && p;
    });
    await t.delete(JOBS, 'default', 'gone', { propagationPolicy: 'Background' });
    for (const p of pods) {
      await until('finalizer removed', async () => ((await t.get<Pod>(PODS, 'default', p.metadata!.name!)).metadata!.finalizers ?? []).length === 0);
    }
  } finally {
    await env.close();
  }
});

test('orphan pods matching the selector are adopted (owner reference and finalizer added)', async () => {
  const env = await startBatch();
  try {
    const t = env.cluster.transport;
    await t.create<Pod>(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'adopt' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
    const manifest = jobManifest('adopt', { manualSelector: true, selector: { matchLabels: { app: 'adopt' } } });
    manifest.spec!.template.metadata = { labels: { app: 'adopt' } };
    const job = await t.create<Job>(JOBS, 'default', manifest);
    const adopted = await until('adopted', async () => {
      const p = await t.get<Pod>(PODS, 'default', 'stray');
      return p.metadata?.ownerReferences?.length === 1 && p;
    });
    assert.deepEqual(adopted.metadata!.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'adopt', uid: job.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(adopted.metadata!.finalizers, [FINALIZER]);
    // The adopted pod is the Job's one active pod: no other is made.
    await until('active 1', async () => (await getJob(env, 'adopt')).status?.active === 1);
    await waitForQuietInProcess();
    const list = await t.list<Pod>(PODS, 'default', { labelSelector: 'app=adopt' });
    assert.deepEqual(
      list.items.map((p) => p.metadata!.name),
      ['stray'],
    );
  } finally {
    await env.close();
  }
});

test('restartPolicy OnFailure: container restarts count against backoffLimit', async () => {
  const env = await startBatch();
  try {
    const manifest = jobManifest('restarts', { backoffLimit: 2 });
    manifest.spec!.template.spec!.restartPolicy = 'OnFailure';
    await env.cluster.transport.create<Job>(JOBS, 'default', manifest);
    const [p] = await until('pod', async () => {
      const x = await podsOf(env, 'restarts');
      return x.length === 1 && x;
    });
    await setPod(env, p.metadata!.name!, { phase: 'Running', restartCount: 2 });
    const failed = await until('Failed', async () => {
      const j = await getJob(env, 'restarts');
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(failed, 'Failed')!.reason, 'BackoffLimitExceeded');
  } finally {
    await env.close();
  }
});

test('a Job without completions is complete when any pod succeeded and none is left running', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(JOBS, 'default', jobManifest('queue', { parallelism: 2, completions: null }));
    const pods = await until('2 pods', async () => {
      const p = await podsOf(env, 'queue');
      return p.length === 2 && p;
    });
    await setPod(env, pods[0].metadata!.name!, { phase: 'Succeeded' });
    await until('succeeded 1', async () => (await getJob(env, 'queue')).status?.succeeded === 1);
    await waitForQuietInProcess();
    let j = await getJob(env, 'queue');
    assert.equal(condition(j, 'Complete'), undefined, 'the other pod still runs');
    assert.equal((await podsOf(env, 'queue')).length, 2, 'no new pods after a success');
    await setPod(env, pods[1].metadata!.name!, { phase: 'Succeeded' });
    j = await until('Complete', async () => {
      const x = await getJob(env, 'queue');
      return condition(x, 'Complete') && x;
    });
    assert.equal(j.status!.succeeded, 2);
  } finally {
    await env.close();
  }
});

test('successPolicy: the Job succeeds once the listed indexes did, and the rest is stopped', async () => {
  const env = await startBatch();
  try {
    await env.cluster.transport.create<Job>(
      JOBS,
      'default',
      jobManifest('leader', { completionMode: 'Indexed', completions: 3, parallelism: 3, successPolicy: { rules: [{ succeededIndexes: '0' }] } }),
    );
    const pods = await until('3 pods', async () => {
      const p = await podsOf(env, 'leader');
      return p.length === 3 && p;
    });
    const leader = pods.find((p) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'] === '0')!;
    await setPod(env, leader.metadata!.name!, { phase: 'Succeeded' });
    const done = await until('Complete', async () => {
      const j = await getJob(env, 'leader');
      return condition(j, 'Complete') && j;
    });
    assert.equal(condition(done, 'SuccessCriteriaMet')!.reason, 'SuccessPolicy');
    assert.equal(condition(done, 'SuccessCriteriaMet')!.message, 'Matched rules at index 0');
    assert.equal(done.status!.completedIndexes, '0');
    await until('others deleted', async () => (await podsOf(env, 'leader')).length === 1);
  } finally {
    await env.close();
  }
});
