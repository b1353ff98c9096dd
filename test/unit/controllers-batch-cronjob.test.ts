// The CronJob controller against the in-process API, with the test moving the clock:
// Jobs at schedule times (named by the minute), requeues at exactly the next time,
// history limits, concurrency policies, suspend, deadlines, time zones, missed times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { CRONJOBS, JOBS, cronJobManifest, eventsFor, sleep, startBatch, until } from './controllers-batch-fixture.js';
import type { BatchEnv } from './controllers-batch-fixture.js';
import { formatRFC1123Z, formatRFC3339In, mostRecentScheduleTime, parseSchedule } from '../../controllers/cronjob/schedule.js';

const MINUTE = 60_000;

async function cronJob(env: BatchEnv, name: string): Promise<CronJob> {
  return env.cluster.transport.get<CronJob>(CRONJOBS, 'default', name);
}

async function jobsOf(env: BatchEnv, cj: string): Promise<Job[]> {
  const list = await env.cluster.transport.list<Job>(JOBS, 'default');
  return list.items.filter((j) => j.metadata?.ownerReferences?.some((r) => r.name === cj && r.kind === 'CronJob')).sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

/** Record every delayed requeue the controller asks for. */
function spyRequeues(env: BatchEnv): { key: string; ms: number }[] {
  const calls: { key: string; ms: number }[] = [];
  const q = env.cronJobs!.queue;
  const orig = q.addAfter.bind(q);
  q.addAfter = (key: string, ms: number) => {
    calls.push({ key, ms });
    orig(key, ms);
  };
  return calls;
}

/** Mark a Job finished, as the Job controller would. */
async function finishJob(env: BatchEnv, name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
  const t = env.cluster.transport;
  const j = await t.get<Job>(JOBS, 'default', name);
  const ts = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const st = j.status ?? {};
  st.startTime ??= ts;
  if (type === 'Complete') {
    st.conditions = [
      { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: ts },
      { type: 'Complete', status: 'True', lastTransitionTime: ts },
    ];
    st.completionTime = ts;
    st.succeeded = 1;
  } else {
    st.conditions = [
      { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: ts },
      { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: ts },
    ];
    st.failed = 1;
  }
  (j as { status?: Job['status'] }).status = st;
  await t.updateStatus(JOBS, 'default', j);
}

/** The first minute boundary strictly after `t`. */
const nextMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE + MINUTE;

test('every minute: a Job at each schedule time, named by the minute, and a requeue for exactly the next time', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const requeues = spyRequeues(env);
    const t = env.cluster.transport;
    const manifest = cronJobManifest('tick', '* * * * *');
    manifest.spec!.jobTemplate.metadata = { labels: { team: 'a' }, annotations: { note: 'x' } };
    const cj = await t.create<CronJob>(CRONJOBS, 'default', manifest);
    const created = Date.parse(cj.metadata!.creationTimestamp!);
    const b1 = nextMinute(created);
    await sleep(50);
    assert.equal((await jobsOf(env, 'tick')).length, 0, 'nothing before the first schedule time');

    // 300 ms before the boundary: the controller waits for it, then creates the Job.
    env.clock.set(b1 - 300);
    env.cronJobs!.enqueue('default/tick');
    const [job] = await until('the first Job', async () => {
      const js = await jobsOf(env, 'tick');
      return js.length === 1 && js;
    });
    assert.ok(requeues.some((r) => r.key === 'default/tick' && r.ms > 0 && r.ms <= 400 + 50), JSON.stringify(requeues));
    assert.equal(job.metadata!.name, `tick-${b1 / MINUTE}`);
    assert.equal(job.metadata!.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(b1).toISOString().replace('.000Z', 'Z'));
    assert.equal(job.metadata!.annotations!.note, 'x');
    assert.equal(job.metadata!.labels!.team, 'a');
    assert.deepEqual(job.metadata!.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: cj.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(job.spec!.template.spec!.containers[0].command, ['date']);

    const st = await until('status', async () => {
      const x = await cronJob(env, 'tick');
      return x.status?.active?.length === 1 && x;
    });
    assert.equal(st.status!.lastScheduleTime, new Date(b1).toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(st.status!.active![0], { kind: 'Job', namespace: 'default', name: job.metadata!.name, uid: job.metadata!.uid, apiVersion: 'batch/v1', resourceVersion: st.status!.active![0].resourceVersion });
    // The requeue after creating is for the next minute (+100 ms), not a poll.
    const after = requeues.filter((r) => r.ms > 50_000);
    assert.ok(after.length > 0 && after.every((r) => r.ms <= MINUTE + 100), JSON.stringify(requeues));

    // The next minute: a second Job (Allow: the first one may still run).
    env.clock.set(b1 + MINUTE - 200);
    env.cronJobs!.enqueue('default/tick');
    await until('the second Job', async () => (await jobsOf(env, 'tick')).length === 2);
    const names = (await jobsOf(env, 'tick')).map((j) => j.metadata!.name);
    assert.deepEqual(names, [`tick-${b1 / MINUTE}`, `tick-${b1 / MINUTE + 1}`]);
    await until('2 active', async () => (await cronJob(env, 'tick')).status?.active?.length === 2);
    const events = (await eventsFor(env, 'tick')).map((e) => `${e.reason}: ${e.message}`);
    assert.ok(events.includes(`SuccessfulCreate: Created job tick-${b1 / MINUTE}`), events.join('\n'));
  } finally {
    await env.close();
  }
});

test('finished Jobs leave the active list (SawCompletedJob), set lastSuccessfulTime, and history limits delete the oldest', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const cj = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('hist', '* * * * *', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }));
    let b = nextMinute(Date.parse(cj.metadata!.creationTimestamp!));
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      env.clock.set(b + 500);
      env.cronJobs!.enqueue('default/hist');
      const name = `hist-${b / MINUTE}`;
      names.push(name);
      await until(`job ${name}`, async () => (await jobsOf(env, 'hist')).some((j) => j.metadata!.name === name));
      await until('in the active list', async () => (await cronJob(env, 'hist')).status?.active?.some((r) => r.name === name));
      await finishJob(env, name, i === 2 ? 'Failed' : 'Complete', b + 1000);
      await until('out of the active list', async () => !(await cronJob(env, 'hist')).status?.active);
      b += MINUTE;
    }
    // Kept: the newest success and the one failure.
    await until('history trimmed', async () => {
      const js = (await jobsOf(env, 'hist')).map((j) => j.metadata!.name);
      return js.length === 2 && js.join() === [names[2], names[3]].join();
    });
    const st = await cronJob(env, 'hist');
    assert.equal(st.status!.lastSuccessfulTime, new Date(b - MINUTE + 1000).toISOString().replace('.000Z', 'Z'));
    const events = (await eventsFor(env, 'hist')).map((e) => `${e.reason}: ${e.message}`);
    assert.ok(events.includes(`SawCompletedJob: Saw completed job: ${names[0]}, status: Complete`), events.join('\n'));
    assert.ok(events.includes(`SawCompletedJob: Saw completed job: ${names[2]}, status: Failed`), events.join('\n'));
    assert.ok(events.includes(`SuccessfulDelete: Deleted job ${names[0]}`), events.join('\n'));
  } finally {
    await env.close();
  }
});

test('concurrencyPolicy Forbid skips a time while a Job runs; Replace deletes the running Job', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const f = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('forbid', '* * * * *', { concurrencyPolicy: 'Forbid' }));
    await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('replace', '* * * * *', { concurrencyPolicy: 'Replace' }));
    const b = nextMinute(Date.parse(f.metadata!.creationTimestamp!)) + MINUTE;
    env.clock.set(b + 500);
    env.cronJobs!.enqueue('default/forbid');
    env.cronJobs!.enqueue('default/replace');
    await until('first jobs', async () => (await jobsOf(env, 'forbid')).length === 1 && (await jobsOf(env, 'replace')).length === 1);
    await until('active', async () => (await cronJob(env, 'forbid')).status?.active?.length === 1 && (await cronJob(env, 'replace')).status?.active?.length === 1);

    env.clock.set(b + MINUTE + 500);
    env.cronJobs!.enqueue('default/forbid');
    env.cronJobs!.enqueue('default/replace');
    await until('replaced', async () => {
      const js = await jobsOf(env, 'replace');
      return js.length === 1 && js[0].metadata!.name === `replace-${b / MINUTE + 1}`;
    });
    await until('JobAlreadyActive', async () => (await eventsFor(env, 'forbid')).some((e) => e.reason === 'JobAlreadyActive'));
    const forbidden = await jobsOf(env, 'forbid');
    assert.deepEqual(
      forbidden.map((j) => j.metadata!.name),
      [`forbid-${b / MINUTE}`],
    );
    const rep = await until('replace status', async () => {
      const x = await cronJob(env, 'replace');
      return x.status?.active?.length === 1 && x.status.active[0].name === `replace-${b / MINUTE + 1}` && x;
    });
    assert.equal(rep.status!.lastScheduleTime, new Date(b + MINUTE).toISOString().replace('.000Z', 'Z'));
    const ev = (await eventsFor(env, 'replace')).map((e) => `${e.reason}: ${e.message}`);
    assert.ok(ev.includes(`SuccessfulDelete: Deleted job replace-${b / MINUTE}`), ev.join('\n'));
    const fe = (await eventsFor(env, 'forbid')).find((e) => e.reason === 'JobAlreadyActive')!;
    assert.equal(fe.message, 'Not starting job because prior execution is running and concurrency policy is Forbid');
  } finally {
    await env.close();
  }
});

test('suspend: no Jobs while suspended; resumed, the most recent missed time runs', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const cj = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('paused', '* * * * *', { suspend: true }));
    const b = nextMinute(Date.parse(cj.metadata!.creationTimestamp!));
    env.clock.set(b + 3 * MINUTE + 500);
    env.cronJobs!.enqueue('default/paused');
    await sleep(100);
    assert.equal((await jobsOf(env, 'paused')).length, 0);
    await t.patch(CRONJOBS, 'default', 'paused', 'merge', { spec: { suspend: false } });
    const [job] = await until('a Job', async () => {
      const js = await jobsOf(env, 'paused');
      return js.length === 1 && js;
    });
    assert.equal(job.metadata!.name, `paused-${b / MINUTE + 3}`, 'only the most recent missed time');
  } finally {
    await env.close();
  }
});

test('startingDeadlineSeconds: a time missed by more than the deadline is not run; more than 100 missed times warn', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const late = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('late', '*/5 * * * *', { startingDeadlineSeconds: 20 }));
    const created = Date.parse(late.metadata!.creationTimestamp!);
    const b = Math.floor(created / (5 * MINUTE)) * 5 * MINUTE + 5 * MINUTE;
    env.clock.set(b + 30_000);
    env.cronJobs!.enqueue('default/late');
    await sleep(100);
    assert.equal((await jobsOf(env, 'late')).length, 0, '30 s late with a 20 s deadline: skipped');
    env.clock.set(b + 5 * MINUTE + 10_000);
    env.cronJobs!.enqueue('default/late');
    await until('within the deadline', async () => (await jobsOf(env, 'late')).length === 1);

    await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('behind', '* * * * *'));
    env.clock.set(created + 300 * MINUTE);
    env.cronJobs!.enqueue('default/behind');
    await until('TooManyMissedTimes', async () => (await eventsFor(env, 'behind')).some((e) => e.reason === 'TooManyMissedTimes' && e.type === 'Warning'));
    const [j] = await until('a Job for the latest time', async () => {
      const js = await jobsOf(env, 'behind');
      return js.length === 1 && js;
    });
    assert.equal(j.metadata!.name, `behind-${Math.floor((created + 300 * MINUTE) / MINUTE)}`);
  } finally {
    await env.close();
  }
});

test('timeZone: the schedule is read in the zone; the scheduled-timestamp annotation carries its offset', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const cj = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('berlin', '0 9 * * *', { timeZone: 'Europe/Berlin' }));
    const sched = parseSchedule('TZ=Europe/Berlin 0 9 * * *');
    const nine = sched.next(Date.parse(cj.metadata!.creationTimestamp!))!;
    const wall = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(nine));
    assert.equal(wall, '09:00');
    env.clock.set(nine + 1000);
    env.cronJobs!.enqueue('default/berlin');
    const [job] = await until('the Job', async () => {
      const js = await jobsOf(env, 'berlin');
      return js.length === 1 && js;
    });
    const ts = job.metadata!.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'];
    assert.match(ts, /T09:00:00\+0[12]:00$/);
    assert.equal(Date.parse(ts), nine);
  } finally {
    await env.close();
  }
});

test('an active Job deleted by someone else leaves the active list (MissingJob); a manual Job (create job --from) is UnexpectedJob, never active', async () => {
  const env = await startBatch({ job: false, cronJob: true });
  try {
    const t = env.cluster.transport;
    const cj = await t.create<CronJob>(CRONJOBS, 'default', cronJobManifest('gone', '0 0 1 1 *'));
    // What `kubectl create job --from=cronjob/gone` sends.
    const manual = await t.create<Job>(JOBS, 'default', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'gone-manual',
        annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'gone', uid: cj.metadata!.uid!, controller: true }],
      },
      spec: structuredClone(cj.spec!.jobTemplate.spec!),
    });
    assert.equal(manual.metadata!.annotations!['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.ok(manual.spec!.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']);
    // A scheduled Job, then deleted behind the controller's back.
    const b = Date.UTC(new Date(Date.parse(cj.metadata!.creationTimestamp!)).getUTCFullYear() + 1, 0, 1);
    env.clock.set(b + 1000);
    env.cronJobs!.enqueue('default/gone');
    await until('active', async () => (await cronJob(env, 'gone')).status?.active?.length === 1);
    await t.delete(JOBS, 'default', `gone-${b / MINUTE}`);
    env.cronJobs!.enqueue('default/gone');
    await until('MissingJob', async () => (await eventsFor(env, 'gone')).some((e) => e.reason === 'MissingJob'));
    await until('inactive', async () => !(await cronJob(env, 'gone')).status?.active);
    const events = await eventsFor(env, 'gone');
    const unexpected = events.find((e) => e.reason === 'UnexpectedJob')!;
    assert.equal(unexpected.type, 'Warning');
    assert.equal(unexpected.message, 'Saw a job that the controller did not create or forgot: gone-manual');
    assert.ok(!(await cronJob(env, 'gone')).status?.active, 'the manual Job is never in the active list');
  } finally {
    await env.close();
  }
});

test('schedule arithmetic: the most recent time, missed counts, @every, and Go time formats', () => {
  const cj = (created: string, last?: string): CronJob => ({ metadata: { creationTimestamp: created }, spec: { schedule: '', jobTemplate: {} }, status: last ? { lastScheduleTime: last } : {} }) as CronJob;
  const hourly = parseSchedule('0 * * * *');
  const at = Date.parse('2024-03-10T10:30:00Z');
  assert.deepEqual(mostRecentScheduleTime(cj('2024-03-10T10:10:00Z'), at, hourly, false), { earliest: Date.parse('2024-03-10T10:10:00Z'), missed: 'none' });
  const r = mostRecentScheduleTime(cj('2024-03-10T07:10:00Z'), at, hourly, false);
  assert.equal(r.mostRecent, Date.parse('2024-03-10T10:00:00Z'));
  assert.equal(r.missed, 'few');
  const many = mostRecentScheduleTime(cj('2024-03-01T00:00:00Z'), at, hourly, false);
  assert.equal(many.missed, 'many');
  assert.equal(many.mostRecent, Date.parse('2024-03-10T10:00:00Z'));
  // Irregular: 06:30, 10:30, 14:30 on weekdays.
  const irregular = parseSchedule('30 6-16/4 * * 1-5');
  const ir = mostRecentScheduleTime(cj('2024-03-01T00:00:00Z'), Date.parse('2024-03-11T12:00:00Z'), irregular, false);
  assert.equal(ir.mostRecent, Date.parse('2024-03-11T10:30:00Z'));
  // @every is accepted (robfig/cron's ParseStandard, as upstream validation).
  const every = parseSchedule('@every 90s');
  assert.equal(every.next(Date.parse('2024-03-10T10:00:00.700Z')), Date.parse('2024-03-10T10:01:30Z'));
  assert.equal(formatRFC3339In(Date.parse('2024-07-01T07:00:00Z'), 'Europe/Berlin'), '2024-07-01T09:00:00+02:00');
  assert.equal(formatRFC3339In(Date.parse('2024-07-01T07:00:00Z'), 'America/St_Johns'), '2024-07-01T04:30:00-02:30');
  assert.equal(formatRFC3339In(Date.parse('2024-07-01T07:00:00Z'), undefined), '2024-07-01T07:00:00Z');
  assert.equal(formatRFC1123Z(Date.parse('2024-07-01T07:00:00Z')), 'Mon, 01 Jul 2024 07:00:00 +0000');
});
