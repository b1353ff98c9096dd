// The TTL-after-finished controller (upstream: pkg/controller/ttlafterfinished). A Job
// with spec.ttlSecondsAfterFinished is deleted that many seconds after it finished —
// the lastTransitionTime of its Complete or Failed condition — checked once more on a
// fresh read, deleted with propagationPolicy=Foreground (as upstream: the Job goes
// once its pods are gone) and a uid precondition. Until then the Job is looked at
// again when its TTL is due.
import type { Job } from 'kubernetes-types/batch/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import { splitKey } from '../../client/keys.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import type { ReconcileResult } from '../../client/workqueue.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const JOBS = resourceByPath('batch', 'v1', 'jobs')!;

export interface TTLAfterFinishedOptions {
  workers?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

/** Finished: a Complete or Failed condition with status True (upstream IsJobFinished). */
export function jobFinishedAt(job: Job): number | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') {
      const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
      if (Number.isNaN(t)) throw new Error(`unable to find the time when the Job ${job.metadata?.namespace}/${job.metadata?.name} finished`);
      return t;
    }
  }
  return undefined;
}

function needsCleanup(job: Job): boolean {
  if (job.spec?.ttlSecondsAfterFinished === undefined || job.spec.ttlSecondsAfterFinished === null) return false;
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export class TTLAfterFinishedController extends QueueController {
  readonly jobs: Informer<Job>;
  private readonly transport: ApiTransport;
  private readonly now: () => number;

  constructor(ctx: ControllerContext, opts: TTLAfterFinishedOptions = {}) {
    super({ name: 'ttl_jobs_to_delete', workers: opts.workers ?? 5, log: opts.log });
    this.transport = ctx.transport;
    this.now = opts.now ?? Date.now;
    this.jobs = ctx.informers.informerFor<Job>(JOBS);
    this.watch(this.jobs, (job) => (!job.metadata?.deletionTimestamp && needsCleanup(job) ? `${job.metadata?.namespace}/${job.metadata?.name}` : undefined));
  }

  /** ms until the Job expires (≤ 0: expired); undefined when it needs no cleanup. */
  private timeLeft(job: Job): number | undefined {
    if (job.metadata?.deletionTimestamp || !needsCleanup(job)) return undefined;
    const finished = jobFinishedAt(job)!;
    if (finished > this.now()) this.log(`Warning: Found Job ${job.metadata?.namespace}/${job.metadata?.name} finished in the future. This is likely due to time skew in the cluster. Job cleanup will be deferred.`);
    return finished + job.spec!.ttlSecondsAfterFinished! * 1000 - this.now();
  }

  protected override async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.jobs.store.get(namespace, name);
    if (!cached) return;
    const left = this.timeLeft(cached);
    if (left === undefined) return;
    if (left > 0) return { requeueAfterMs: left };
    // The cache may be stale (the TTL changed): decide on a fresh read.
    let fresh: Job;
    try {
      fresh = await this.transport.get<Job>(JOBS, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const freshLeft = this.timeLeft(fresh);
    if (freshLeft === undefined) return;
    if (freshLeft > 0) return { requeueAfterMs: freshLeft };
    try {
      await this.transport.delete(JOBS, namespace, name, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata?.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

export function newTTLAfterFinishedController(ctx: ControllerContext, opts: TTLAfterFinishedOptions = {}): TTLAfterFinishedController {
  return new TTLAfterFinishedController(ctx, opts);
}
