// The Job controller (upstream: pkg/controller/job/job_controller.go, as of 1.33).
//
// One key per Job. A sync reads the Job and its pods from the informers, counts what
// finished, decides whether the Job has failed (backoffLimit, activeDeadlineSeconds,
// pod failure policy, per-index limits) or succeeded (completions, success policy),
// creates or deletes pods to reach the wanted parallelism, and writes the status.
//
// Counting is done with the `batch.kubernetes.io/job-tracking` finalizer, as upstream:
// every pod is created with it; a finished pod's UID is first recorded in
// `.status.uncountedTerminatedPods`, then its finalizer is removed, then it moves into
// `.status.succeeded` / `.status.failed`. A pod without the finalizer has been counted,
// so nothing is counted twice and nothing is lost if a pod is deleted right away.
//
// Terminal conditions go through the interim `SuccessCriteriaMet` / `FailureTarget`
// conditions first; `Complete` / `Failed` are added once no pod is left running or
// terminating (JobManagedBy and JobPodReplacementPolicy are on in 1.33).
import type { Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import type { Container, Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import { labelSelectorMatches } from '../../apiserver/selectors.js';
import { ControllerExpectations, QueueController } from '../../client/controller.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/keys.js';
import { isNotFound } from '../../client/transport.js';
import type { ApiTransport } from '../../client/transport.js';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import type { ControllerContext } from '../manager.js';
import type { Clock } from './clock.js';
import { parseTime, realClock, rfc3339 } from './clock.js';
import {
  COMPLETION_INDEX_ANNOTATION,
  COMPLETION_INDEX_ENV,
  INDEX_FAILURE_COUNT_ANNOTATION,
  INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
  UNKNOWN_INDEX,
  completionIndexOf,
  formatIntervals,
  hasIndex,
  indexAbsoluteFailureCount,
  indexFailureCount,
  indexIgnoredFailureCount,
  indexesOf,
  mergeIntervals,
  parseIntervals,
  podGenerateNameWithIndex,
  sortedIndexes,
  totalOf,
  withIndexes,
} from './indexes.js';
import type { Interval } from './indexes.js';
import {
  JOB_TRACKING_FINALIZER,
  compareForRemoval,
  controllerOf,
  finishedTime,
  hasTrackingFinalizer,
  isActive,
  isReady,
  isTerminating,
  phaseOf,
} from './pods.js';
import {
  BackoffStore,
  hasBackoffLimitPerIndex,
  isIndexedJob,
  matchPodFailurePolicy,
  matchSuccessPolicy,
  onlyReplaceFailedPods,
  remainingBackoff,
} from './policy.js';
import type { BackoffRecord, BackoffSettings } from './policy.js';

export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';
const JOB_KIND = 'Job';
const JOB_API_VERSION = 'batch/v1';
/** Limits per sync, as upstream (MaxUncountedPods, MaxPodCreateDeletePerSync). */
const MAX_UNCOUNTED_PODS = 500;
const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
const SLOW_START_INITIAL_BATCH_SIZE = 1;

export interface JobControllerOptions {
  clock?: Clock;
  /** Delay that batches pod events into one sync (upstream syncJobBatchPeriod: 1 s). */
  syncBatchMs?: number;
  /** Back-off between pod failures (upstream: 10 s doubling to 10 min). */
  podFailureBackoff?: Partial<BackoffSettings>;
  /** Retry back-off after a failed sync (upstream: 1 s doubling to 1 min). */
  apiBackoff?: { baseMs?: number; maxMs?: number };
  workers?: number;
}

type Condition = JobCondition;

interface Uncounted {
  succeeded: Set<string>;
  failed: Set<string>;
}

interface SyncCtx {
  job: Job;
  pods: Pod[];
  finishedCondition?: Condition;
  activePods: Pod[];
  succeeded: number;
  failed: number;
  prevSucceededIndexes: Interval[];
  succeededIndexes: Interval[];
  failedIndexes?: Interval[];
  newBackoffRecord: BackoffRecord;
  expectedRmFinalizers: Set<string>;
  uncounted: Uncounted;
  podsWithDelayedDeletionPerIndex: Map<number, Pod>;
  terminating: number;
  ready: number;
}

/** The pod UIDs whose finalizer removal each Job is waiting to observe. */
class FinalizerExpectations {
  private readonly byJob = new Map<string, Set<string>>();

  expect(key: string, uids: readonly string[]): void {
    let set = this.byJob.get(key);
    if (!set) this.byJob.set(key, (set = new Set()));
    for (const u of uids) set.add(u);
  }

  observed(key: string, uid: string): void {
    const set = this.byJob.get(key);
    if (!set) return;
    set.delete(uid);
    if (set.size === 0) this.byJob.delete(key);
  }

  expected(key: string): Set<string> {
    return new Set(this.byJob.get(key) ?? []);
  }

  delete(key: string): void {
    this.byJob.delete(key);
  }
}

function res(group: string, plural: string): ResourceInfo {
  const r = resourceByPath(group, 'v1', plural);
  if (!r) throw new Error(`resource ${group}/v1/${plural} is not known`);
  return r;
}

export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function findCondition(list: Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

function newCondition(type: string, status: string, reason: string, message: string, now: number): Condition {
  const t = rfc3339(now);
  const c: Condition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** Set a condition (a new False condition is not added). Returns whether the list changed. */
function ensureCondition(job: Job, type: string, status: string, reason: string, message: string, now: number): boolean {
  const status_ = (job.status ??= {});
  const list = status_.conditions ?? [];
  const i = list.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = list[i];
    if (c.status !== status || (c.reason ?? '') !== reason || (c.message ?? '') !== message) {
      list[i] = newCondition(type, status, reason, message, now);
      return true;
    }
    return false;
  }
  if (status !== 'False') {
    status_.conditions = [...list, newCondition(type, status, reason, message, now)];
    return true;
  }
  return false;
}

function jobSuspended(job: Job): boolean {
  return job.spec?.suspend === true;
}

function isPodFailed(pod: Pod, job: Job): boolean {
  if (phaseOf(pod) === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  // Deleted pods count as failed: orphans may never reach the Failed phase.
  return !!pod.metadata?.deletionTimestamp && phaseOf(pod) !== 'Succeeded';
}

function successCriteriaMet(job: Job): Condition | undefined {
  const c = findCondition(job.status?.conditions, 'SuccessCriteriaMet');
  return c?.status === 'True' ? c : undefined;
}

function isSuccessCriteriaMetCondition(c: Condition | undefined): boolean {
  return c?.type === 'SuccessCriteriaMet' && c.status === 'True';
}

function managedByOther(job: Job): string | undefined {
  const m = job.spec?.managedBy;
  return m && m !== JOB_CONTROLLER_NAME ? m : undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function namespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

export class JobController extends QueueController {
  private readonly transport: ApiTransport;
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly batchMs: number;
  private readonly backoffSettings: BackoffSettings;
  readonly expectations: ControllerExpectations;
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoffStore = new BackoffStore();
  private readonly orphanQueue: WorkQueue<string>;
  private orphanWorkers?: Promise<void>;
  private readonly handlers: { remove(): void }[] = [];
  private readonly JOBS = res('batch', 'jobs');
  private readonly PODS = res('', 'pods');

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    const api = { base: opts.apiBackoff?.baseMs ?? 1000, max: opts.apiBackoff?.maxMs ?? 60_000 };
    super({ name: 'job', workers: opts.workers ?? 5, rateLimiter: new ItemExponentialFailureRateLimiter<string>(api.base, api.max) });
    this.transport = ctx.transport;
    this.clock = opts.clock ?? realClock;
    this.batchMs = opts.syncBatchMs ?? 1000;
    this.backoffSettings = { baseMs: opts.podFailureBackoff?.baseMs ?? 10_000, maxMs: opts.podFailureBackoff?.maxMs ?? 10 * 60_000 };
    this.expectations = new ControllerExpectations();
    this.recorder = ctx.events.newRecorder('job-controller');
    this.orphanQueue = new WorkQueue<string>({ name: 'job_orphan_pod', rateLimiter: new ItemExponentialFailureRateLimiter<string>(api.base, api.max) });
    this.jobs = ctx.informers.informerFor<Job>(this.JOBS);
    this.pods = ctx.informers.informerFor<Pod>(this.PODS);
    this.requireSynced(this.jobs);
    this.requireSynced(this.pods);
    this.handlers.push(
      this.jobs.addEventHandler({
        onAdd: (job) => this.enqueueJob(job, 0),
        onUpdate: (oldJob, job) => this.updateJob(oldJob, job),
        onDelete: (job) => this.deleteJob(job),
      }),
      this.pods.addEventHandler({
        onAdd: (pod) => this.addPod(pod),
        onUpdate: (oldPod, pod) => this.updatePod(oldPod, pod),
        onDelete: (pod) => this.deletePod(pod, true),
      }),
    );
  }

  override async start(): Promise<void> {
    await super.start();
    if (this.orphanWorkers || this.orphanQueue.shuttingDown()) return;
    this.orphanWorkers = runWorkers(this.orphanQueue, 1, (key) => this.syncOrphanPod(key), {
      onError: (key, err, n) => this.log(`controller job: error removing the tracking finalizer of orphan pod "${key}" (retry ${n + 1}): ${errorText(err)}`),
    });
  }

  override async stop(): Promise<void> {
    for (const h of this.handlers) h.remove();
    this.orphanQueue.shutDown();
    await super.stop();
    await this.orphanWorkers;
  }

  // ---- event handlers ----------------------------------------------------------------------

  private enqueueJob(job: Job, delayMs: number): void {
    const key = objectKey(job);
    if (delayMs > 0) this.queue.addAfter(key, delayMs);
    else this.queue.add(key);
  }

  private enqueueBatched(job: Job): void {
    this.enqueueJob(job, this.batchMs);
  }

  /** The Job a controller reference names, if it is still that Job. */
  private resolveControllerRef(namespace: string | undefined, ref: OwnerReference): Job | undefined {
    if (ref.kind !== JOB_KIND) return undefined;
    const job = this.jobs.store.get(namespace, ref.name);
    return job && job.metadata?.uid === ref.uid ? job : undefined;
  }

  /** Jobs whose selector matches an orphan pod's labels. */
  private podJobs(pod: Pod): Job[] {
    const labels = pod.metadata?.labels;
    if (!labels) return [];
    return this.jobs.store.listNamespace(pod.metadata?.namespace ?? '').filter((j) => j.spec?.selector && labelSelectorMatches(j.spec.selector, labels));
  }

  private enqueueOrphan(pod: Pod): void {
    this.orphanQueue.add(objectKey(pod));
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // A pod already being deleted (seen after a restart) is not a creation.
      this.deletePod(pod, false);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (!job) return;
      this.expectations.creationObserved(objectKey(job));
      this.enqueueBatched(job);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueueOrphan(pod);
    for (const job of this.podJobs(pod)) this.enqueueBatched(job);
  }

  private updatePod(oldPod: Pod, pod: Pod): void {
    if (pod.metadata?.resourceVersion === oldPod.metadata?.resourceVersion) return;
    if (pod.metadata?.deletionTimestamp) {
      // Graceful deletion started: replace the pod now, not when the kubelet is done.
      this.deletePod(pod, false);
      return;
    }
    const finalizerRemoved = !hasTrackingFinalizer(pod);
    const ref = controllerOf(pod);
    const oldRef = controllerOf(oldPod);
    const refChanged = JSON.stringify(ref ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const job = this.resolveControllerRef(oldPod.metadata?.namespace, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerExpectations.observed(objectKey(job), pod.metadata!.uid!);
        this.enqueueBatched(job);
      }
    }
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (!job) return;
      if (finalizerRemoved) this.finalizerExpectations.observed(objectKey(job), pod.metadata!.uid!);
      this.enqueueBatched(job);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueueOrphan(pod);
    const labelsChanged = JSON.stringify(pod.metadata?.labels ?? {}) !== JSON.stringify(oldPod.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const job of this.podJobs(pod)) this.enqueueBatched(job);
  }

  private deletePod(pod: Pod, final: boolean): void {
    const ref = controllerOf(pod);
    const hasFinalizer = hasTrackingFinalizer(pod);
    if (!ref) {
      if (hasFinalizer) this.enqueueOrphan(pod);
      return;
    }
    const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
    if (!job || isJobFinished(job)) {
      if (hasFinalizer) this.enqueueOrphan(pod);
      return;
    }
    const key = objectKey(job);
    this.expectations.deletionObserved(key);
    if (final || !hasFinalizer) this.finalizerExpectations.observed(key, pod.metadata!.uid!);
    this.enqueueBatched(job);
  }

  private updateJob(oldJob: Job, job: Job): void {
    if (job.metadata?.generation === oldJob.metadata?.generation) this.enqueueBatched(job);
    else this.enqueueJob(job, 0);
    if (isJobFinished(job)) this.cleanupPodFinalizers(job);
    const start = parseTime(job.status?.startTime);
    const ads = job.spec?.activeDeadlineSeconds;
    if (start !== undefined && ads !== undefined && ads !== null && oldJob.spec?.activeDeadlineSeconds !== ads) {
      this.queue.addAfter(objectKey(job), ads * 1000 - (this.clock.now() - start));
    }
  }

  private deleteJob(job: Job): void {
    this.enqueueJob(job, 0);
    this.cleanupPodFinalizers(job);
  }

  /** Pods of a finished or deleted Job still holding the finalizer go to the orphan queue. */
  private cleanupPodFinalizers(job: Job): void {
    const uid = job.metadata?.uid;
    for (const pod of this.pods.store.listNamespace(job.metadata?.namespace ?? '')) {
      if (controllerOf(pod)?.uid === uid && hasTrackingFinalizer(pod)) this.enqueueOrphan(pod);
    }
  }

  // ---- orphan pods -------------------------------------------------------------------------

  private async syncOrphanPod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.store.get(namespace, name);
    if (!pod) return;
    const ref = controllerOf(pod);
    if (ref) {
      // Owned by something else than a batch/v1 Job: not ours to touch.
      if (ref.kind !== JOB_KIND || ref.apiVersion !== JOB_API_VERSION) return;
      const job = this.resolveControllerRef(namespace, ref);
      if (job && managedByOther(job)) return;
      if (job && !isJobFinished(job)) return; // adopted meanwhile
    }
    await this.removeTrackingFinalizer(pod).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }

  private async removeTrackingFinalizer(pod: Pod): Promise<void> {
    if (!hasTrackingFinalizer(pod)) return;
    await this.transport.patch(this.PODS, pod.metadata?.namespace, pod.metadata!.name!, 'strategic', {
      metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] },
    });
  }

  // ---- pods of a Job ---------------------------------------------------------------------------

  private controllerRef(job: Job): OwnerReference {
    return { apiVersion: JOB_API_VERSION, kind: JOB_KIND, name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true };
  }

  /**
   * The pods this Job manages: those it controls that its selector still matches, plus
   * orphans it adopts (owner reference and tracking finalizer added); pods it controls
   * that no longer match are released.
   */
  private async getPodsForJob(job: Job): Promise<Pod[]> {
    const ns = job.metadata?.namespace ?? '';
    const uid = job.metadata?.uid;
    const selector = job.spec?.selector;
    const owned: Pod[] = [];
    const toAdopt: Pod[] = [];
    const toRelease: Pod[] = [];
    for (const pod of this.pods.store.listNamespace(ns)) {
      const matches = !!selector && labelSelectorMatches(selector, pod.metadata?.labels);
      const ref = controllerOf(pod);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) owned.push(pod);
        else if (!job.metadata?.deletionTimestamp) toRelease.push(pod);
        continue;
      }
      if (!matches || pod.metadata?.deletionTimestamp || job.metadata?.deletionTimestamp) continue;
      toAdopt.push(pod);
    }
    for (const pod of toRelease) {
      try {
        await this.transport.patch(this.PODS, ns, pod.metadata!.name!, 'strategic', {
          metadata: { ownerReferences: [{ $patch: 'delete', uid }], uid: pod.metadata!.uid },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (toAdopt.length > 0) {
      // Re-check with a live read that the Job is not being deleted before adopting.
      const fresh = await this.transport.get<Job>(this.JOBS, ns, job.metadata!.name!);
      if (fresh.metadata?.uid !== uid) throw new Error(`original Job ${ns}/${job.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${uid}`);
      if (!fresh.metadata?.deletionTimestamp) {
        for (const pod of toAdopt) {
          try {
            await this.transport.patch(this.PODS, ns, pod.metadata!.name!, 'strategic', {
              metadata: { ownerReferences: [this.controllerRef(job)], uid: pod.metadata!.uid, finalizers: [JOB_TRACKING_FINALIZER] },
            });
            const copy = structuredClone(pod);
            const fins = copy.metadata!.finalizers ?? [];
            if (!fins.includes(JOB_TRACKING_FINALIZER)) copy.metadata!.finalizers = [...fins, JOB_TRACKING_FINALIZER];
            owned.push(copy);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
      }
    }
    return owned;
  }

  // ---- sync --------------------------------------------------------------------------------------

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    if (!namespace || !name) throw new Error(`invalid job key "${key}": either namespace or name is missing`);
    const shared = this.jobs.store.get(namespace, name);
    if (!shared) {
      this.expectations.deleteExpectations(key);
      this.finalizerExpectations.delete(key);
      this.backoffStore.remove(key);
      return;
    }
    if (managedByOther(shared)) return;
    if (isJobFinished(shared)) {
      this.backoffStore.remove(key);
      return;
    }
    const job = structuredClone(shared);
    const mode = job.spec?.completionMode;
    if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(job, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const status = (job.status ??= {});
    status.uncountedTerminatedPods ??= {};
    const now = this.clock.now();

    // Expectations are checked before the pods are read: a pod that arrives after the
    // check only defers this sync to the next event.
    const satisfied = this.expectations.satisfiedExpectations(key);
    const pods = await this.getPodsForJob(job);
    const activePods = pods.filter(isActive);
    const ctx: SyncCtx = {
      job,
      pods,
      activePods,
      ready: activePods.filter(isReady).length,
      uncounted: {
        succeeded: new Set(status.uncountedTerminatedPods.succeeded ?? []),
        failed: new Set(status.uncountedTerminatedPods.failed ?? []),
      },
      expectedRmFinalizers: this.finalizerExpectations.expected(key),
      terminating: pods.filter(isTerminating).length,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: [],
      succeededIndexes: [],
      newBackoffRecord: { key, failuresAfterLastSuccess: 0 },
      podsWithDelayedDeletionPerIndex: new Map(),
    };
    let active = activePods.length;
    const newSucceeded = this.validPods(ctx, ctx.uncounted.succeeded, (p) => phaseOf(p) === 'Succeeded');
    const newFailed = this.validPods(ctx, ctx.uncounted.failed, (p) => isPodFailed(p, job));
    ctx.succeeded = (status.succeeded ?? 0) + newSucceeded.length + ctx.uncounted.succeeded.size;
    ctx.failed = (status.failed ?? 0) + this.nonIgnoredFailedCount(job, newFailed) + ctx.uncounted.failed.size;

    // First start (not while suspended).
    if (!status.startTime && !jobSuspended(job)) status.startTime = rfc3339(now);
    ctx.newBackoffRecord = this.backoffStore.next(key, newSucceeded, newFailed);

    let manageErr: unknown;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const exceedsBackoffLimit = ctx.failed > backoffLimit;
    ctx.finishedCondition = successCriteriaMet(job);
    // With SuccessCriteriaMet already set, success was decided: the failure policy is not evaluated.
    if (!ctx.finishedCondition) {
      const target = findCondition(status.conditions, 'FailureTarget');
      if (target?.status === 'True') ctx.finishedCondition = newCondition('Failed', 'True', target.reason ?? '', target.message ?? '', now);
      else {
        const msg = this.failJobMessage(job, pods);
        if (msg !== undefined) ctx.finishedCondition = newCondition('FailureTarget', 'True', 'PodFailurePolicy', msg, now);
      }
    }
    let requeueAfterMs: number | undefined;
    if (!ctx.finishedCondition) {
      if (exceedsBackoffLimit || this.pastBackoffLimitOnFailure(job, pods)) {
        ctx.finishedCondition = newCondition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
      } else if (this.pastActiveDeadline(job)) {
        ctx.finishedCondition = newCondition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
      } else if (job.spec?.activeDeadlineSeconds !== undefined && job.spec.activeDeadlineSeconds !== null && !jobSuspended(job)) {
        requeueAfterMs = job.spec.activeDeadlineSeconds * 1000 - (now - (parseTime(status.startTime) ?? now));
      }
    }

    if (isIndexedJob(job)) {
      const completions = job.spec?.completions ?? 0;
      ctx.prevSucceededIndexes = parseIntervals(status.completedIndexes, completions);
      const newIdx = new Set<number>();
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (phaseOf(p) === 'Succeeded' && ix !== UNKNOWN_INDEX && ix < completions && hasTrackingFinalizer(p)) newIdx.add(ix);
      }
      ctx.succeededIndexes = withIndexes(ctx.prevSucceededIndexes, sortedIndexes(newIdx));
      ctx.succeeded = totalOf(ctx.succeededIndexes);
      if (hasBackoffLimitPerIndex(job)) {
        ctx.failedIndexes = this.calculateFailedIndexes(job, pods);
        if (!ctx.finishedCondition) {
          const maxFailed = job.spec?.maxFailedIndexes;
          const failedTotal = totalOf(ctx.failedIndexes);
          if (maxFailed !== undefined && maxFailed !== null && failedTotal > maxFailed) {
            ctx.finishedCondition = newCondition('FailureTarget', 'True', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes', now);
          } else if (failedTotal > 0 && failedTotal + totalOf(ctx.succeededIndexes) >= completions) {
            ctx.finishedCondition = newCondition('FailureTarget', 'True', 'FailedIndexes', 'Job has failed indexes', now);
          }
        }
        ctx.podsWithDelayedDeletionPerIndex = this.podsWithDelayedDeletionPerIndex(ctx);
      }
      if (!ctx.finishedCondition) {
        const msg = matchSuccessPolicy(job.spec?.successPolicy, completions, ctx.succeededIndexes);
        if (msg !== undefined) ctx.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'SuccessPolicy', msg, now);
      }
    }

    let suspendCondChanged = false;
    if (ctx.finishedCondition) {
      // The Job is done: stop whatever still runs.
      const { deletedReady, deleted, error } = await this.deleteActivePods(job, ctx.activePods);
      if (deleted !== active || !satisfied) {
        // Not finished yet: there may be pods left, or pods not yet in the cache.
        ctx.finishedCondition = undefined;
      }
      active -= deleted;
      ctx.terminating += deleted;
      ctx.ready -= deletedReady;
      manageErr = error;
    } else {
      let manageCalled = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        const r = await this.manageJob(job, ctx);
        active = r.active;
        manageErr = r.error;
        if (r.requeueAfterMs !== undefined) requeueAfterMs = requeueAfterMs === undefined ? r.requeueAfterMs : Math.min(requeueAfterMs, r.requeueAfterMs);
        manageCalled = true;
      }
      const completions = job.spec?.completions;
      const complete = completions === undefined || completions === null ? ctx.succeeded > 0 && active === 0 : ctx.succeeded >= completions && active === 0;
      if (complete) {
        ctx.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
      } else if (manageCalled) {
        if (jobSuspended(job)) {
          if (ensureCondition(job, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now)) {
            suspendCondChanged = true;
            this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (ensureCondition(job, 'Suspended', 'False', 'JobResumed', 'Job resumed', now)) {
          suspendCondChanged = true;
          this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
          // The active deadline counts from the resume.
          status.startTime = rfc3339(now);
        }
      }
    }

    const needsStatusUpdate = suspendCondChanged || active !== (status.active ?? 0) || ctx.ready !== status.ready || ctx.terminating !== status.terminating;
    status.active = active;
    status.ready = ctx.ready;
    status.terminating = ctx.terminating;
    await this.trackJobStatusAndRemoveFinalizers(ctx, needsStatusUpdate);
    if (manageErr) throw manageErr;
    if (requeueAfterMs !== undefined) return { requeueAfterMs: Math.max(requeueAfterMs, 0) };
  }

  /** Pods not yet counted (holding the finalizer, not already uncounted, valid index) that pass `filter`. */
  private validPods(ctx: SyncCtx, uncounted: Set<string> | undefined, filter: (p: Pod) => boolean): Pod[] {
    const out: Pod[] = [];
    const indexed = isIndexedJob(ctx.job);
    const completions = ctx.job.spec?.completions ?? 0;
    for (const p of ctx.pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted?.has(uid) || ctx.expectedRmFinalizers.has(uid)) continue;
      if (indexed) {
        const ix = completionIndexOf(p);
        if (ix === UNKNOWN_INDEX || ix >= completions) continue;
      }
      if (filter(p)) out.push(p);
    }
    return out;
  }

  private nonIgnoredFailedCount(job: Job, failed: readonly Pod[]): number {
    if (!job.spec?.podFailurePolicy) return failed.length;
    return failed.filter((p) => matchPodFailurePolicy(job.spec!.podFailurePolicy, p).countFailed).length;
  }

  private failJobMessage(job: Job, pods: readonly Pod[]): string | undefined {
    if (!job.spec?.podFailurePolicy) return undefined;
    for (const p of pods) {
      if (!isPodFailed(p, job)) continue;
      const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p).failJobMessage;
      if (m !== undefined) return m;
    }
    return undefined;
  }

  /** restartPolicy OnFailure: container restarts of running pods count against backoffLimit. */
  private pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
    let restarts = 0;
    for (const p of pods) {
      const phase = phaseOf(p);
      if (phase !== 'Running' && phase !== 'Pending') continue;
      for (const cs of p.status?.initContainerStatuses ?? []) restarts += cs.restartCount ?? 0;
      for (const cs of p.status?.containerStatuses ?? []) restarts += cs.restartCount ?? 0;
    }
    const limit = job.spec?.backoffLimit ?? 6;
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  private pastActiveDeadline(job: Job): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = parseTime(job.status?.startTime);
    if (ads === undefined || ads === null || start === undefined || jobSuspended(job)) return false;
    return this.clock.now() - start >= ads * 1000;
  }

  // ---- indexes -------------------------------------------------------------------------------

  private isIndexFailed(job: Job, pod: Pod): boolean {
    let counted = false;
    if (isPodFailed(pod, job)) {
      if (job.spec?.podFailurePolicy) {
        const m = matchPodFailurePolicy(job.spec.podFailurePolicy, pod);
        if (m.action === 'FailIndex') return true;
        counted = m.countFailed;
      } else counted = true;
    }
    return counted && indexFailureCount(pod) >= (job.spec?.backoffLimitPerIndex ?? 0);
  }

  private calculateFailedIndexes(job: Job, pods: readonly Pod[]): Interval[] {
    const completions = job.spec?.completions ?? 0;
    const prev = parseIntervals(job.status?.failedIndexes, completions);
    const failed = new Set<number>();
    for (const p of pods) {
      const ix = completionIndexOf(p);
      if (ix !== UNKNOWN_INDEX && ix < completions && hasTrackingFinalizer(p) && this.isIndexFailed(job, p)) failed.add(ix);
    }
    return withIndexes(prev, sortedIndexes(failed));
  }

  /**
   * Per index, the last failed pod whose removal waits until its replacement exists, so
   * the replacement can carry the index's failure count forward.
   */
  private podsWithDelayedDeletionPerIndex(ctx: SyncCtx): Map<number, Pod> {
    const activeIdx = indexesOf(ctx.activePods);
    const out = new Map<number, Pod>();
    const completions = ctx.job.spec?.completions ?? 0;
    this.validPods(ctx, undefined, (p) => {
      if (!isPodFailed(p, ctx.job)) return false;
      const ix = completionIndexOf(p);
      if (ix === UNKNOWN_INDEX || ix >= completions) return false;
      if (hasIndex(ctx.succeededIndexes, ix) || hasIndex(ctx.failedIndexes, ix) || activeIdx.has(ix)) return false;
      const last = out.get(ix);
      if (!last || (indexAbsoluteFailureCount(last) <= indexAbsoluteFailureCount(p) && finishedTime(p) >= finishedTime(last))) out.set(ix, p);
      return false;
    });
    return out;
  }

  /** Indexes below `completions` with no active, succeeded, failed (or, replacing only failed pods, terminating) pod. */
  private firstPendingIndexes(ctx: SyncCtx, count: number, completions: number): number[] {
    if (count === 0) return [];
    let nonPending = withIndexes(ctx.succeededIndexes, sortedIndexes(indexesOf(ctx.activePods)));
    if (onlyReplaceFailedPods(ctx.job)) nonPending = withIndexes(nonPending, sortedIndexes(indexesOf(ctx.pods.filter(isTerminating))));
    if (ctx.failedIndexes) nonPending = mergeIntervals(nonPending, ctx.failedIndexes);
    const out: number[] = [];
    let candidate = 0;
    for (const iv of nonPending) {
      for (; candidate < completions && out.length < count && candidate < iv.first; candidate++) out.push(candidate);
      if (candidate < iv.last + 1) candidate = iv.last + 1;
    }
    for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
    return out;
  }

  // ---- pods: create and delete -------------------------------------------------------------------

  /** Active pods to delete: at least `rmAtLeast`, plus (Indexed) duplicates and out-of-range indexes. */
  private activePodsForRemoval(job: Job, pods: readonly Pod[], rmAtLeast: number): Pod[] {
    const rm: Pod[] = [];
    let left: Pod[] = [...pods];
    if (isIndexedJob(job)) {
      const completions = job.spec?.completions ?? 0;
      left = [];
      const byIndex = new Map<number, Pod[]>();
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (ix === UNKNOWN_INDEX || ix >= completions) rm.push(p);
        else {
          const l = byIndex.get(ix) ?? [];
          l.push(p);
          byIndex.set(ix, l);
        }
      }
      for (const ix of [...byIndex.keys()].sort((a, b) => a - b)) {
        const same = byIndex.get(ix)!.sort(compareForRemoval);
        rm.push(...same.slice(0, same.length - 1));
        left.push(same[same.length - 1]);
      }
    }
    if (rm.length < rmAtLeast) {
      left.sort(compareForRemoval);
      rm.push(...left.slice(0, rmAtLeast - rm.length));
    }
    return rm;
  }

  /** Delete pods, leaving their finalizers for status tracking to remove. */
  private async deleteActivePods(job: Job, pods: readonly Pod[]): Promise<{ deletedReady: number; deleted: number; error?: unknown }> {
    let deleted = pods.length;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.deletePodOf(job, pod);
        } catch (err) {
          if (!isNotFound(err)) {
            deleted--;
            error ??= err;
          }
        }
        if (isReady(pod)) deletedReady++;
      }),
    );
    return { deletedReady, deleted, error };
  }

  /** Remove the finalizer and delete (pods the Job no longer wants; their count is not kept). */
  private async deleteJobPods(job: Job, key: string, pods: readonly Pod[]): Promise<{ removedReady: number; removed: number; error?: unknown }> {
    let removed = pods.length;
    let removedReady = 0;
    let error: unknown;
    const fail = (err: unknown) => {
      this.expectations.deletionObserved(key); // this deletion will never be observed
      if (!isNotFound(err)) {
        removed--;
        error ??= err;
      }
    };
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.removeTrackingFinalizer(pod);
        } catch (err) {
          fail(err);
          return;
        }
        try {
          await this.deletePodOf(job, pod);
        } catch (err) {
          fail(err);
        }
        if (isReady(pod)) removedReady++;
      }),
    );
    return { removedReady, removed, error };
  }

  private async deletePodOf(job: Job, pod: Pod): Promise<void> {
    const name = pod.metadata!.name!;
    try {
      await this.transport.delete(this.PODS, job.metadata?.namespace, name);
    } catch (err) {
      if (!isNotFound(err)) this.recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${errorText(err)}`);
      throw err;
    }
    this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  /** Bring the number of active pods to what the Job wants; returns the new active count. */
  private async manageJob(job: Job, ctx: SyncCtx): Promise<{ active: number; error?: unknown; requeueAfterMs?: number }> {
    const key = objectKey(job);
    let active = ctx.activePods.length;
    const parallelism = job.spec?.parallelism ?? 1;
    if (jobSuspended(job)) {
      const toDelete = this.activePodsForRemoval(job, ctx.activePods, active);
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      active -= r.removed;
      ctx.terminating += r.removed;
      ctx.ready -= r.removedReady;
      return { active, error: r.error };
    }
    let wantActive: number;
    const completions = job.spec?.completions;
    if (completions === undefined || completions === null) {
      // No completion count: once any pod succeeded, let what runs finish.
      wantActive = ctx.succeeded > 0 ? active : parallelism;
    } else {
      wantActive = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));
    }
    const rmAtLeast = Math.max(0, active - wantActive);
    let toDelete = this.activePodsForRemoval(job, ctx.activePods, rmAtLeast);
    if (toDelete.length > MAX_POD_CREATE_DELETE_PER_SYNC) toDelete = toDelete.slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (toDelete.length > 0) {
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      active -= r.removed;
      ctx.terminating += r.removed;
      ctx.ready -= r.removedReady;
      // Deletion first; creation waits for the next sync.
      return { active, error: r.error };
    }
    const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return { active };
    if (!hasBackoffLimitPerIndex(job)) {
      const remaining = remainingBackoff(this.clock, this.backoffSettings, ctx.newBackoffRecord.failuresAfterLastSuccess, ctx.newBackoffRecord.lastFailureTime);
      // (Upstream reports active 0 here; the pods that run are still active.)
      if (remaining > 0) return { active, requeueAfterMs: Math.max(remaining, this.batchMs) };
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexesToAdd: number[] = [];
    if (isIndexedJob(job)) {
      indexesToAdd = this.firstPendingIndexes(ctx, diff, job.spec?.completions ?? 0);
      if (hasBackoffLimitPerIndex(job)) {
        const now: number[] = [];
        let minRemaining: number | undefined;
        for (const ix of indexesToAdd) {
          const last = ctx.podsWithDelayedDeletionPerIndex.get(ix);
          const remaining = last ? remainingBackoff(this.clock, this.backoffSettings, indexAbsoluteFailureCount(last) + 1, finishedTime(last)) : 0;
          if (remaining === 0) now.push(ix);
          else if (minRemaining === undefined || remaining < minRemaining) minRemaining = remaining;
        }
        if (now.length === 0 && minRemaining !== undefined) return { active, requeueAfterMs: Math.max(minRemaining, this.batchMs) };
        indexesToAdd = now;
      }
      diff = indexesToAdd.length;
    }
    if (diff <= 0) return { active };

    this.expectations.expectCreations(key, diff);
    active += diff;
    const template = structuredClone(job.spec!.template) as PodTemplateSpec;
    if (isIndexedJob(job)) addCompletionIndexEnv(template);
    const tmeta = (template.metadata ??= {});
    if (!(tmeta.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)) tmeta.finalizers = [...(tmeta.finalizers ?? []), JOB_TRACKING_FINALIZER];

    // Slow start: batches of 1, 2, 4, ... stop at the first batch with a failure.
    let error: unknown;
    let remaining = diff;
    for (let batch = Math.min(remaining, SLOW_START_INITIAL_BATCH_SIZE); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      let failedInBatch = 0;
      const creates: Promise<void>[] = [];
      for (let i = 0; i < batch; i++) {
        const ix = indexesToAdd.length > 0 ? indexesToAdd.shift()! : UNKNOWN_INDEX;
        creates.push(
          this.createPod(job, template, ix, ctx).catch((err) => {
            if (namespaceTerminating(err)) return;
            this.expectations.creationObserved(key); // it will never be observed
            active--;
            failedInBatch++;
            error ??= err;
          }),
        );
      }
      await Promise.all(creates);
      remaining -= batch;
      if (failedInBatch > 0 && remaining > 0) {
        // The rest is not attempted now: drop their expectations and retry later.
        active -= remaining;
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        break;
      }
    }
    return { active, error };
  }

  private async createPod(job: Job, template: PodTemplateSpec, index: number, ctx: SyncCtx): Promise<void> {
    let t = template;
    let generateName = `${job.metadata!.name}-`;
    if (index !== UNKNOWN_INDEX) {
      t = structuredClone(template);
      const m = (t.metadata ??= {});
      m.annotations = { ...(m.annotations ?? {}), [COMPLETION_INDEX_ANNOTATION]: String(index) };
      m.labels = { ...(m.labels ?? {}), [COMPLETION_INDEX_ANNOTATION]: String(index) };
      t.spec = { ...t.spec!, hostname: `${job.metadata!.name}-${index}` };
      generateName = podGenerateNameWithIndex(job.metadata!.name!, index);
      if (hasBackoffLimitPerIndex(job)) {
        const replaced = ctx.podsWithDelayedDeletionPerIndex.get(index);
        let failures = 0;
        let ignored = 0;
        if (replaced) {
          failures = indexFailureCount(replaced);
          ignored = indexIgnoredFailureCount(replaced);
          if (!job.spec?.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy, replaced).countFailed) failures++;
          else ignored++;
        }
        m.annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(failures);
        if (ignored > 0) m.annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
      }
    }
    const tm = t.metadata ?? {};
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata?.namespace,
        ...(tm.labels ? { labels: { ...tm.labels } } : {}),
        ...(tm.annotations ? { annotations: { ...tm.annotations } } : {}),
        ...(tm.finalizers ? { finalizers: [...tm.finalizers] } : {}),
        ownerReferences: [this.controllerRef(job)],
      },
      spec: structuredClone(t.spec!),
    };
    let created: Pod;
    try {
      created = await this.transport.create<Pod>(this.PODS, job.metadata?.namespace, pod);
    } catch (err) {
      if (!namespaceTerminating(err)) this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorText(err)}`);
      throw err;
    }
    this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
  }

  // ---- status tracking -----------------------------------------------------------------------------

  /**
   * 1. Record newly finished pods in `.status.uncountedTerminatedPods` (and write that);
   * 2. remove their finalizers;
   * 3. move the pods whose finalizer is gone into the counters;
   * 4. add Complete / Failed once nothing is left uncounted or terminating.
   */
  private async trackJobStatusAndRemoveFinalizers(ctx: SyncCtx, needsFlushIn: boolean): Promise<void> {
    let needsFlush = needsFlushIn;
    const job = ctx.job;
    const indexed = isIndexedJob(job);
    const completions = job.spec?.completions ?? 0;
    if (indexed) ctx.pods = [...ctx.pods].sort((a, b) => completionIndexOf(a) - completionIndexOf(b));
    const uidsWithFinalizer = new Set<string>();
    for (const p of ctx.pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasTrackingFinalizer(p) && !ctx.expectedRmFinalizers.has(uid)) uidsWithFinalizer.add(uid);
    }
    const oldStatus = job.status!;
    const uncounted = oldStatus.uncountedTerminatedPods!;
    if (cleanUncounted(oldStatus, uidsWithFinalizer)) needsFlush = true;
    const toRemove: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    for (const pod of ctx.pods) {
      const uid = pod.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(pod) || ctx.expectedRmFinalizers.has(uid)) continue; // counted in an earlier sync
      const failed = isPodFailed(pod, job);
      if (!this.canRemoveFinalizer(ctx, pod, failed)) continue;
      toRemove.push(pod);
      if (phaseOf(pod) === 'Succeeded' && !ctx.uncounted.failed.has(uid)) {
        if (indexed) {
          // The index is enough to avoid counting twice.
          const ix = completionIndexOf(pod);
          if (ix !== UNKNOWN_INDEX && ix < completions && !hasIndex(ctx.prevSucceededIndexes, ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!ctx.uncounted.succeeded.has(uid)) {
          needsFlush = true;
          (uncounted.succeeded ??= []).push(uid);
        }
      } else if (failed || (ctx.finishedCondition && !isSuccessCriteriaMetCondition(ctx.finishedCondition))) {
        // Once the Job is finished, every pod not succeeded counts as failed.
        const ix = completionIndexOf(pod);
        if (!ctx.uncounted.failed.has(uid) && (!indexed || (ix !== UNKNOWN_INDEX && ix < completions))) {
          if (!job.spec?.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy, pod).countFailed) {
            needsFlush = true;
            (uncounted.failed ??= []).push(uid);
          }
        }
      }
      if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
        // Enough for one write; the rest waits for the next sync.
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      ctx.succeededIndexes = withIndexes(ctx.succeededIndexes, newSucceededIndexes.sort((a, b) => a - b));
      const s = formatIntervals(ctx.succeededIndexes);
      if (s !== (oldStatus.completedIndexes ?? '')) needsFlush = true;
      oldStatus.succeeded = totalOf(ctx.succeededIndexes);
      if (s) oldStatus.completedIndexes = s;
      else delete oldStatus.completedIndexes;
      const f = ctx.failedIndexes ? formatIntervals(ctx.failedIndexes) : undefined;
      if (f !== oldStatus.failedIndexes) {
        if (f === undefined) delete oldStatus.failedIndexes;
        else oldStatus.failedIndexes = f;
        needsFlush = true;
      }
    }
    const now = this.clock.now();
    if (ctx.finishedCondition?.type === 'FailureTarget') {
      // Record the failure before the finalizers go; Failed follows once they have.
      (oldStatus.conditions ??= []).push(ctx.finishedCondition);
      needsFlush = true;
      ctx.finishedCondition = newCondition('Failed', 'True', ctx.finishedCondition.reason ?? '', ctx.finishedCondition.message ?? '', now);
    }
    if (isSuccessCriteriaMetCondition(ctx.finishedCondition)) {
      if (!successCriteriaMet(job)) {
        (oldStatus.conditions ??= []).push(ctx.finishedCondition!);
        needsFlush = true;
      }
      ctx.finishedCondition = newCondition('Complete', 'True', ctx.finishedCondition!.reason ?? '', ctx.finishedCondition!.message ?? '', now);
    }
    needsFlush = await this.flushUncountedAndRemoveFinalizers(ctx, toRemove, uidsWithFinalizer, needsFlush);
    const finished = !reachedMax && this.enactJobFinished(ctx);
    if (finished) needsFlush = true;
    if (needsFlush) {
      ctx.job = await this.writeStatus(ctx.job);
      if (finished) this.recordJobFinished(ctx.job, ctx.finishedCondition!);
    }
  }

  private canRemoveFinalizer(ctx: SyncCtx, pod: Pod, failed: boolean): boolean {
    if (ctx.job.metadata?.deletionTimestamp || ctx.finishedCondition || phaseOf(pod) === 'Succeeded') return true;
    if (!failed) return false;
    if (hasBackoffLimitPerIndex(ctx.job)) {
      const ix = completionIndexOf(pod);
      const delayed = ix === UNKNOWN_INDEX ? undefined : ctx.podsWithDelayedDeletionPerIndex.get(ix);
      if (delayed && delayed.metadata?.uid === pod.metadata?.uid) return false; // wait for the replacement
    }
    return true;
  }

  private async flushUncountedAndRemoveFinalizers(ctx: SyncCtx, toRemove: readonly Pod[], uidsWithFinalizer: Set<string>, needsFlushIn: boolean): Promise<boolean> {
    let needsFlush = needsFlushIn;
    if (needsFlush) {
      ctx.job = await this.writeStatus(ctx.job);
      this.backoffStore.update(ctx.newBackoffRecord);
      needsFlush = false;
    }
    const key = objectKey(ctx.job);
    let rmError: unknown;
    if (toRemove.length > 0) {
      this.finalizerExpectations.expect(
        key,
        toRemove.map((p) => p.metadata!.uid!),
      );
      await Promise.all(
        toRemove.map(async (pod) => {
          try {
            await this.removeTrackingFinalizer(pod);
          } catch (err) {
            // No update will come back for this one.
            this.finalizerExpectations.observed(key, pod.metadata!.uid!);
            if (!isNotFound(err)) {
              rmError ??= err;
              return;
            }
          }
          uidsWithFinalizer.delete(pod.metadata!.uid!);
        }),
      );
    }
    if (cleanUncounted(ctx.job.status!, uidsWithFinalizer)) needsFlush = true;
    if (rmError) {
      // Save the partial progress, then retry.
      if (needsFlush) ctx.job = await this.writeStatus(ctx.job);
      throw rmError;
    }
    return needsFlush;
  }

  private enactJobFinished(ctx: SyncCtx): boolean {
    const cond = ctx.finishedCondition;
    if (!cond) return false;
    const job = ctx.job;
    const u = job.status?.uncountedTerminatedPods;
    if ((u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0) > 0) return false;
    if (ctx.terminating > 0) return false;
    ensureCondition(job, cond.type, cond.status, cond.reason ?? '', cond.message ?? '', this.clock.now());
    if (cond.type === 'Complete') job.status!.completionTime = findCondition(job.status?.conditions, 'Complete')?.lastTransitionTime;
    return true;
  }

  private recordJobFinished(job: Job, cond: Condition): void {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions !== undefined && completions !== null && (job.status?.succeeded ?? 0) > completions) {
        this.recorder.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      }
      this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
    } else {
      this.recorder.event(job, 'Warning', cond.reason ?? '', cond.message ?? '');
    }
  }

  /** PUT the status; returns the stored Job (the next write builds on its resourceVersion). */
  private async writeStatus(job: Job): Promise<Job> {
    const body = structuredClone(job);
    const u = body.status?.uncountedTerminatedPods;
    if (u) {
      if (!u.succeeded?.length) delete u.succeeded;
      if (!u.failed?.length) delete u.failed;
    }
    // Zero counters are omitted, as upstream's omitempty does (ready and terminating stay).
    for (const f of ['active', 'succeeded', 'failed'] as const) if (body.status && !body.status[f]) delete body.status[f];
    if (body.status?.conditions && body.status.conditions.length === 0) delete body.status.conditions;
    const out = await this.transport.updateStatus<Job>(this.JOBS, body.metadata?.namespace, body);
    // Keep working on our copy, with the new resourceVersion.
    const next = structuredClone(job);
    (next.metadata as { resourceVersion?: string }).resourceVersion = out.metadata?.resourceVersion;
    return next;
  }
}

/** Move uncounted UIDs whose pods no longer hold the finalizer into the counters. */
function cleanUncounted(status: NonNullable<Job['status']>, withFinalizer: Set<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  const succ = (u.succeeded ?? []).filter((uid) => withFinalizer.has(uid));
  if (succ.length !== (u.succeeded ?? []).length) {
    changed = true;
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded!.length - succ.length);
    u.succeeded = succ;
  }
  const fail = (u.failed ?? []).filter((uid) => withFinalizer.has(uid));
  if (fail.length !== (u.failed ?? []).length) {
    changed = true;
    status.failed = (status.failed ?? 0) + (u.failed!.length - fail.length);
    u.failed = fail;
  }
  return changed;
}

/** JOB_COMPLETION_INDEX from the pod's completion-index label, in every container. */
function addCompletionIndexEnv(template: PodTemplateSpec): void {
  const add = (c: Container) => {
    if ((c.env ?? []).some((e) => e.name === COMPLETION_INDEX_ENV)) return;
    c.env = [...(c.env ?? []), { name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_ANNOTATION}']` } } }];
  };
  for (const c of template.spec?.initContainers ?? []) add(c);
  for (const c of template.spec?.containers ?? []) add(c);
}

export function newJobController(opts: JobControllerOptions = {}): (ctx: ControllerContext) => JobController {
  return (ctx) => new JobController(ctx, opts);
}
