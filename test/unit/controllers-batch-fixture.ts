// The Job and CronJob controllers on a real in-process API (registry + LocalTransport),
// with a clock the tests move. Pods never run here: tests play the kubelet by writing
// pod status through the status subresource.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ContainerStatus, Event as CoreEvent, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { EventBroadcaster } from '../../client/events.js';
import { isConflict } from '../../client/transport.js';
import type { ControllerContext } from '../../controllers/manager.js';
import { JobController } from '../../controllers/job/controller.js';
import type { JobControllerOptions } from '../../controllers/job/controller.js';
import { CronJobController } from '../../controllers/cronjob/controller.js';
import { OffsetClock } from '../../controllers/job/clock.js';
import { EVENTS, PODS, res, sleep, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { waitInProcess } from '../wait.js';

export const JOBS = res('batch', 'v1', 'jobs');
export const CRONJOBS = res('batch', 'v1', 'cronjobs');
export { PODS, EVENTS, sleep };

export interface BatchEnv {
  cluster: Cluster;
  clock: OffsetClock;
  jobs?: JobController;
  cronJobs?: CronJobController;
  events: EventBroadcaster;
  informers: SharedInformerFactory;
  close(): Promise<void>;
}

export async function startBatch(opts: { job?: boolean | JobControllerOptions; cronJob?: boolean; namespaces?: string[] } = {}): Promise<BatchEnv> {
  const cluster = await startCluster(opts.namespaces ?? ['default']);
  const clock = new OffsetClock();
  const informers = new SharedInformerFactory(cluster.transport);
  const events = new EventBroadcaster(cluster.transport, { host: 'test' });
  const ctx: ControllerContext = { transport: cluster.transport, informers, events };
  const env: BatchEnv = {
    cluster,
    clock,
    events,
    informers,
    async close() {
      await env.jobs?.stop();
      await env.cronJobs?.stop();
      await informers.stop();
      await events.shutdown();
      await cluster.close();
    },
  };
  if (opts.job !== false) {
    const o = typeof opts.job === 'object' ? opts.job : {};
    env.jobs = new JobController(ctx, { clock, syncBatchMs: 5, apiBackoff: { baseMs: 5, maxMs: 200 }, ...o });
  }
  if (opts.cronJob) env.cronJobs = new CronJobController(ctx, { clock });
  informers.start();
  await Promise.all([env.jobs?.start(), env.cronJobs?.start()]);
  return env;
}

export function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000): Promise<T> {
  return waitInProcess(what, fn, timeoutMs);
}

export function jobManifest(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', ...meta },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo done'] }] } },
      ...spec,
    },
  } as Job;
}

export function cronJobManifest(name: string, schedule: string, spec: Record<string, unknown> = {}): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'busybox', command: ['date'] }] } } } },
      ...spec,
    },
  } as CronJob;
}

export async function getJob(env: BatchEnv, name: string): Promise<Job> {
  return env.cluster.transport.get<Job>(JOBS, 'default', name);
}

export async function podsOf(env: BatchEnv, job: string): Promise<Pod[]> {
  const list = await env.cluster.transport.list<Pod>(PODS, 'default', { labelSelector: `batch.kubernetes.io/job-name=${job}` });
  return list.items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

export async function eventsFor(env: BatchEnv, name: string): Promise<CoreEvent[]> {
  await env.events.flush();
  const list = await env.cluster.transport.list<CoreEvent>(EVENTS, 'default');
  return list.items.filter((e) => e.involvedObject.name === name);
}

export function condition(obj: Job, type: string) {
  return obj.status?.conditions?.find((c) => c.type === type);
}

export interface PodOutcome {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  exitCode?: number;
  ready?: boolean;
  restartCount?: number;
  conditions?: PodCondition[];
  /** When the container finished (default: the test clock's now). */
  finishedAt?: number;
}

/** Play the kubelet: write the pod's status (retrying on conflicts). */
export async function setPod(env: BatchEnv, name: string, o: PodOutcome): Promise<Pod> {
  const t = env.cluster.transport;
  for (;;) {
    const p = await t.get<Pod>(PODS, 'default', name);
    const at = new Date(o.finishedAt ?? env.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const terminated = o.phase === 'Succeeded' || o.phase === 'Failed';
    const cs: ContainerStatus = {
      name: 'main',
      image: 'busybox',
      imageID: '',
      ready: !!o.ready,
      restartCount: o.restartCount ?? 0,
      state: terminated ? { terminated: { exitCode: o.exitCode ?? (o.phase === 'Succeeded' ? 0 : 1), startedAt: at, finishedAt: at, reason: o.phase === 'Succeeded' ? 'Completed' : 'Error' } } : { running: { startedAt: at } },
    };
    const conditions: PodCondition[] = [{ type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: at }, ...(o.conditions ?? [])];
    (p as { status?: Pod['status'] }).status = { ...(p.status ?? {}), phase: o.phase, conditions, containerStatuses: [cs] };
    try {
      return await t.updateStatus<Pod>(PODS, 'default', p);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}
