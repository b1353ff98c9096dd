// The CronJob controller (upstream: pkg/controller/cronjob/cronjob_controllerv2.go).
//
// One key per CronJob. A sync reconciles `.status.active` with the Jobs the CronJob
// controls, deletes finished Jobs beyond the history limits, and — unless suspended —
// creates the Job for the most recent schedule time that has not been run, honouring
// startingDeadlineSeconds and the concurrency policy. Then the key is put back on the
// queue for exactly the next schedule time (plus 100 ms): nothing polls.
//
// Jobs are named `<cronjob>-<scheduled time in minutes since the epoch>`, so the same
// schedule time can never produce two Jobs, whatever the controller's restarts.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { CronError, knownTimeZone } from '../../apiserver/admission/cron.js';
import { QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/keys.js';
import { isAlreadyExists, isNotFound } from '../../client/transport.js';
import type { ApiTransport } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import type { Clock } from '../job/clock.js';
import { realClock, rfc3339 } from '../job/clock.js';
import { controllerOf } from '../job/pods.js';
import {
  SCHEDULED_TIMESTAMP_ANNOTATION,
  ScheduleError,
  byJobStartTime,
  finishedStatus,
  formatRFC1123Z,
  formatRFC3339In,
  formatSchedule,
  jobName,
  nextScheduleTime,
  nextScheduleTimeDuration,
  parseSchedule,
} from './schedule.js';
import type { Schedule } from './schedule.js';

export interface CronJobControllerOptions {
  clock?: Clock;
  workers?: number;
}

const CRONJOB_KIND = 'CronJob';

function res(plural: string): ResourceInfo {
  const r = resourceByPath('batch', 'v1', plural);
  if (!r) throw new Error(`resource batch/v1/${plural} is not known`);
  return r;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function namespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

function inActiveList(cj: CronJob, uid: string | undefined): boolean {
  return (cj.status?.active ?? []).some((r) => r.uid === uid);
}

function deleteFromActiveList(cj: CronJob, uid: string | undefined): void {
  const status = (cj.status ??= {});
  status.active = (status.active ?? []).filter((r) => r.uid !== uid);
}

function jobRef(job: Job): ObjectReference {
  return {
    kind: 'Job',
    namespace: job.metadata?.namespace,
    name: job.metadata?.name,
    uid: job.metadata?.uid,
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata?.resourceVersion,
  };
}

interface SyncResult {
  requeueAfterMs?: number;
  updateStatus: boolean;
  error?: unknown;
}

export class CronJobController extends QueueController {
  private readonly transport: ApiTransport;
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly handlers: { remove(): void }[] = [];
  private readonly CRONJOBS = res('cronjobs');
  private readonly JOBS = res('jobs');

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    super({ name: 'cronjob', workers: opts.workers ?? 5 });
    this.transport = ctx.transport;
    this.clock = opts.clock ?? realClock;
    this.recorder = ctx.events.newRecorder('cronjob-controller');
    this.cronJobs = ctx.informers.informerFor<CronJob>(this.CRONJOBS);
    this.jobs = ctx.informers.informerFor<Job>(this.JOBS);
    this.requireSynced(this.cronJobs);
    this.requireSynced(this.jobs);
    this.handlers.push(
      this.cronJobs.addEventHandler({
        onAdd: (cj) => this.enqueue(objectKey(cj)),
        onUpdate: (oldCj, cj) => this.updateCronJob(oldCj, cj),
        onDelete: (cj) => this.enqueue(objectKey(cj)),
      }),
      this.jobs.addEventHandler({
        onAdd: (job) => this.jobChanged(job),
        onUpdate: (oldJob, job) => {
          if (oldJob.metadata?.resourceVersion === job.metadata?.resourceVersion) return;
          const oldRef = controllerOf(oldJob);
          if (oldRef && JSON.stringify(oldRef) !== JSON.stringify(controllerOf(job) ?? null)) this.enqueueOwner(oldJob.metadata?.namespace, oldRef);
          this.jobChanged(job);
        },
        onDelete: (job) => this.jobChanged(job),
      }),
    );
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    await super.stop();
  }

  private resolveControllerRef(namespace: string | undefined, ref: OwnerReference): CronJob | undefined {
    if (ref.kind !== CRONJOB_KIND) return undefined;
    const cj = this.cronJobs.store.get(namespace, ref.name);
    return cj && cj.metadata?.uid === ref.uid ? cj : undefined;
  }

  private enqueueOwner(namespace: string | undefined, ref: OwnerReference): void {
    const cj = this.resolveControllerRef(namespace, ref);
    if (cj) this.enqueue(objectKey(cj));
  }

  private jobChanged(job: Job): void {
    const ref = controllerOf(job);
    if (ref) this.enqueueOwner(job.metadata?.namespace, ref);
  }

  /** A new schedule (or time zone) moves the requeue to its next time; anything else syncs now. */
  private updateCronJob(oldCj: CronJob, cj: CronJob): void {
    if (oldCj.spec?.schedule !== cj.spec?.schedule || (oldCj.spec?.timeZone ?? null) !== (cj.spec?.timeZone ?? null)) {
      let sched: Schedule;
      try {
        sched = parseSchedule(formatSchedule(cj).spec);
      } catch {
        this.recorder.event(cj, 'Warning', 'UnParseableCronJobSchedule', `unparseable schedule for cronjob: ${cj.spec?.schedule}`);
        return;
      }
      const d = nextScheduleTimeDuration(cj, this.clock.now(), sched);
      if (d !== undefined) this.enqueueAfter(objectKey(cj), d);
      return;
    }
    this.enqueue(objectKey(cj));
  }

  /** The Jobs this CronJob controls (by controller reference; labels don't matter). */
  private jobsOf(cj: CronJob): Job[] {
    return this.jobs.store.listNamespace(cj.metadata?.namespace ?? '').filter((j) => {
      const ref = controllerOf(j);
      return ref?.kind === CRONJOB_KIND && ref.name === cj.metadata?.name;
    });
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const shared = this.cronJobs.store.get(namespace, name);
    if (!shared) return;
    const jobs = this.jobsOf(shared);
    // One copy collects every status change; it is written once.
    const cj = structuredClone(shared);
    const cleaned = await this.cleanupFinishedJobs(cj, jobs);
    const r = await this.syncCronJob(cj, jobs);
    if (r.error) this.log(`controller cronjob: error reconciling ${key}: ${errorText(r.error)}`);
    if (cleaned || r.updateStatus) {
      const status = cj.status ?? {};
      if (status.active && status.active.length === 0) delete status.active;
      await this.transport.updateStatus<CronJob>(this.CRONJOBS, namespace, cj);
    }
    if (r.requeueAfterMs !== undefined) return { requeueAfterMs: Math.max(0, r.requeueAfterMs) };
    // Only a suspended CronJob or an unusable schedule ends up here: nothing to requeue.
    if (r.error) throw r.error;
  }

  private async syncCronJob(cj: CronJob, jobs: readonly Job[]): Promise<SyncResult> {
    const now = this.clock.now();
    let updateStatus = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata?.uid ?? '';
      children.add(uid);
      const found = inActiveList(cj, uid);
      const finished = finishedStatus(j);
      if (!found && !finished) {
        // Maybe our copy is older than the Job: look at a fresh one before complaining.
        let fresh: CronJob;
        try {
          fresh = await this.transport.get<CronJob>(this.CRONJOBS, cj.metadata?.namespace, cj.metadata!.name!);
        } catch (err) {
          return { updateStatus, error: err };
        }
        if (inActiveList(fresh, uid)) {
          cj.status = structuredClone(fresh.status ?? {});
          (cj.metadata as { resourceVersion?: string }).resourceVersion = fresh.metadata?.resourceVersion;
          continue;
        }
        // Made just before a crash, or by someone who wants us to adopt it.
        this.recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`);
        continue;
      }
      if (found && finished) {
        deleteFromActiveList(cj, uid);
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name}, status: ${finished}`);
        updateStatus = true;
      }
      if (finished === 'Complete') {
        // Whether or not it was in the active list, a success moves lastSuccessfulTime.
        const done = j.status?.completionTime;
        const last = cj.status?.lastSuccessfulTime;
        if (done && (!last || Date.parse(done) > Date.parse(last))) {
          (cj.status ??= {}).lastSuccessfulTime = done;
          updateStatus = true;
        }
      }
    }

    // Active references whose Job is gone (checked against the server, not just the cache).
    for (const ref of [...(cj.status?.active ?? [])]) {
      if (children.has(ref.uid ?? '')) continue;
      try {
        await this.transport.get<Job>(this.JOBS, ref.namespace, ref.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) return { updateStatus, error: err };
        this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        deleteFromActiveList(cj, ref.uid);
        updateStatus = true;
      }
    }

    if (cj.metadata?.deletionTimestamp) return { updateStatus };

    const tz = cj.spec?.timeZone;
    if (tz !== undefined && tz !== null) {
      if (!knownTimeZone(tz)) {
        this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${tz}": unknown time zone ${tz}`);
        return { updateStatus };
      }
    }

    if (cj.spec?.suspend === true) return { updateStatus };

    const formatted = formatSchedule(cj);
    if (formatted.tzInSchedule) {
      this.recorder.event(cj, 'Warning', 'UnsupportedSchedule', `CRON_TZ or TZ used in schedule "${cj.spec?.schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);
    }
    let sched: Schedule;
    try {
      sched = parseSchedule(formatted.spec);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${cj.spec?.schedule}" : ${err.message}`);
      return { updateStatus };
    }

    let scheduled: number | undefined;
    try {
      const r = nextScheduleTime(cj, now, sched);
      scheduled = r.time;
      if (r.tooManyMissed) {
        this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
        this.log(`controller cronjob: ${objectKey(cj)}: too many missed times`);
      }
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${err.message}`);
      return { updateStatus };
    }
    const requeue = () => nextScheduleTimeDuration(cj, now, sched);
    if (scheduled === undefined) {
      // Nothing due (normally only right after a restart): wait for the next time.
      return { requeueAfterMs: requeue(), updateStatus };
    }

    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${formatRFC1123Z(scheduled)}`);
      return { requeueAfterMs: requeue(), updateStatus };
    }
    const name = jobName(cj, scheduled);
    const last = cj.status?.lastScheduleTime;
    if ((cj.status?.active ?? []).some((r) => r.name === name && r.namespace === cj.metadata?.namespace) || (last !== undefined && Date.parse(last) === scheduled)) {
      // This schedule time was already handled.
      return { requeueAfterMs: requeue(), updateStatus };
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (cj.status?.active ?? []).length > 0) {
      // Whatever we look at, a just-created Job may not show yet: Forbid is best effort.
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { requeueAfterMs: requeue(), updateStatus };
    }
    if (policy === 'Replace') {
      for (const ref of [...(cj.status?.active ?? [])]) {
        let job: Job;
        try {
          job = await this.transport.get<Job>(this.JOBS, ref.namespace, ref.name ?? '');
        } catch (err) {
          this.recorder.event(cj, 'Warning', 'FailedGet', `Get job: ${errorText(err)}`);
          return { updateStatus, error: err };
        }
        if (!(await this.deleteJob(cj, job))) return { updateStatus, error: new Error(`could not replace job ${job.metadata?.namespace}/${job.metadata?.name}`) };
        updateStatus = true;
      }
    }

    const req = this.jobFromTemplate(cj, scheduled);
    let created: Job;
    let alreadyExisted = false;
    try {
      created = await this.transport.create<Job>(this.JOBS, cj.metadata?.namespace, req);
    } catch (err) {
      if (namespaceTerminating(err)) return { updateStatus, error: err };
      if (!isAlreadyExists(err)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorText(err)}`);
        return { updateStatus, error: err };
      }
      // Made before (maybe by us, before a status write was lost): take it into the list if it is ours.
      alreadyExisted = true;
      try {
        created = await this.transport.get<Job>(this.JOBS, cj.metadata?.namespace, name);
      } catch (e) {
        return { updateStatus, error: e };
      }
      const ref = controllerOf(created);
      if (!ref || ref.uid !== cj.metadata?.uid) return { updateStatus };
      if (inActiveList(cj, created.metadata?.uid)) return { updateStatus };
    }
    if (alreadyExisted) this.log(`controller cronjob: ${objectKey(cj)}: job ${name} already exists`);
    else this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);

    const status = (cj.status ??= {});
    status.active = [...(status.active ?? []), jobRef(created)];
    status.lastScheduleTime = rfc3339(scheduled);
    updateStatus = true;
    return { requeueAfterMs: requeue(), updateStatus };
  }

  /** The Job for one schedule time: the template, a deterministic name, the controller reference. */
  private jobFromTemplate(cj: CronJob, scheduled: number): Job {
    const tpl = cj.spec?.jobTemplate ?? {};
    const annotations: Record<string, string> = { ...(tpl.metadata?.annotations ?? {}) };
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = formatRFC3339In(scheduled, cj.spec?.timeZone ?? undefined);
    const labels = { ...(tpl.metadata?.labels ?? {}) };
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName(cj, scheduled),
        namespace: cj.metadata?.namespace,
        ...(Object.keys(labels).length ? { labels } : {}),
        annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: CRONJOB_KIND, name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(tpl.spec ?? { template: {} }),
    };
  }

  /** Delete finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first. */
  private async cleanupFinishedJobs(cj: CronJob, jobs: readonly Job[]): Promise<boolean> {
    const okLimit = cj.spec?.successfulJobsHistoryLimit;
    const failLimit = cj.spec?.failedJobsHistoryLimit;
    if ((okLimit === undefined || okLimit === null) && (failLimit === undefined || failLimit === null)) return false;
    const succeeded: Job[] = [];
    const failed: Job[] = [];
    for (const j of jobs) {
      const f = finishedStatus(j);
      if (f === 'Complete') succeeded.push(j);
      else if (f === 'Failed') failed.push(j);
    }
    let changed = false;
    if (okLimit !== undefined && okLimit !== null && (await this.removeOldestJobs(cj, succeeded, okLimit))) changed = true;
    if (failLimit !== undefined && failLimit !== null && (await this.removeOldestJobs(cj, failed, failLimit))) changed = true;
    return changed;
  }

  private async removeOldestJobs(cj: CronJob, jobs: Job[], max: number): Promise<boolean> {
    const n = jobs.length - max;
    if (n <= 0) return false;
    jobs.sort(byJobStartTime);
    let changed = false;
    for (let i = 0; i < n; i++) if (await this.deleteJob(cj, jobs[i])) changed = true;
    return changed;
  }

  /** Delete a Job (its pods go with it: background propagation) and drop it from the active list. */
  private async deleteJob(cj: CronJob, job: Job): Promise<boolean> {
    try {
      await this.transport.delete(this.JOBS, job.metadata?.namespace, job.metadata!.name!, { propagationPolicy: 'Background' });
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errorText(err)}`);
      this.log(`controller cronjob: error deleting job ${job.metadata?.namespace}/${job.metadata?.name} of ${objectKey(cj)}: ${errorText(err)}`);
      return false;
    }
    deleteFromActiveList(cj, job.metadata?.uid);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name}`);
    return true;
  }
}
