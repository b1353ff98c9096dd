// Printers for workload kinds: apps/v1, batch/v1, autoscaling, policy/v1.
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler as HPAv1 } from 'kubernetes-types/autoscaling/v1.js';
import type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { KubeObject } from '../../machinery/object.js';
import { AGE, NAME, WIDE_CONTAINERS, WIDE_IMAGES, col, cols } from './columns.js';
import { humanDuration, parseTime, since } from './duration.js';
import {
  boolPtr,
  containerImages,
  containerNames,
  formatLabelSelector,
  formatLabels,
  intOrString,
  num,
  selectorString,
} from './format.js';
import { canonicalQuantity } from './quantity.js';
import { REPLICA_COUNT_COLUMNS, replicaCounts, templateColumns, templateRow } from './template.js';
import type { Printer } from './types.js';

// ---------------------------------------------------------------- Deployment

const deploymentColumns = templateColumns([
  col('Ready', 'string', 'Ready pods out of the desired number of pods.'),
  col('Up-to-date', 'string', 'Pods running the latest pod template.'),
  col('Available', 'string', 'Pods that have been ready for at least minReadySeconds.'),
]);

function deploymentRow(obj: KubeObject, now: number): unknown[] {
  const d = obj as unknown as Deployment;
  const sel = selectorString(d.spec?.selector);
  return templateRow(
    obj,
    now,
    [`${num(d.status?.readyReplicas)}/${d.spec?.replicas ?? 1}`, num(d.status?.updatedReplicas), num(d.status?.availableReplicas)],
    d.spec?.template?.spec?.containers,
    sel === undefined ? '<invalid>' : sel,
  );
}

// ---------------------------------------------------------------- ReplicaSet

const replicaSetColumns = templateColumns(REPLICA_COUNT_COLUMNS);

function replicaSetRow(obj: KubeObject, now: number): unknown[] {
  const rs = obj as unknown as ReplicaSet;
  return templateRow(obj, now, replicaCounts(rs), rs.spec?.template?.spec?.containers, formatLabelSelector(rs.spec?.selector));
}

// ---------------------------------------------------------------- StatefulSet

const statefulSetColumns = cols(
  NAME,
  col('Ready', 'string', 'Ready pods out of the desired number of pods.'),
  AGE,
  WIDE_CONTAINERS,
  WIDE_IMAGES,
);

function statefulSetRow(obj: KubeObject, now: number): unknown[] {
  const s = obj as unknown as StatefulSet;
  const containers = s.spec?.template?.spec?.containers;
  return [
    obj.metadata?.name ?? '',
    `${num(s.status?.readyReplicas)}/${s.spec?.replicas ?? 1}`,
    since(obj.metadata?.creationTimestamp, now),
    containerNames(containers),
    containerImages(containers),
  ];
}

// ---------------------------------------------------------------- DaemonSet

const daemonSetColumns = templateColumns([
  col('Desired', 'integer', 'Nodes that should run the daemon pod.'),
  col('Current', 'integer', 'Nodes running at least one daemon pod.'),
  col('Ready', 'integer', 'Nodes whose daemon pod is ready.'),
  col('Up-to-date', 'integer', 'Nodes running the latest daemon pod template.'),
  col('Available', 'integer', 'Nodes whose daemon pod has been ready for at least minReadySeconds.'),
  col('Node Selector', 'string', 'Node labels the daemon pods are restricted to.'),
]);

function daemonSetRow(obj: KubeObject, now: number): unknown[] {
  const ds = obj as unknown as DaemonSet;
  const st = ds.status;
  const podSpec = ds.spec?.template?.spec;
  const own = [
    num(st?.desiredNumberScheduled),
    num(st?.currentNumberScheduled),
    num(st?.numberReady),
    num(st?.updatedNumberScheduled),
    num(st?.numberAvailable),
    formatLabels(podSpec?.nodeSelector),
  ];
  return templateRow(obj, now, own, podSpec?.containers, formatLabelSelector(ds.spec?.selector));
}

// ---------------------------------------------------------------- ControllerRevision

const controllerRevisionColumns = cols(
  NAME,
  col('Controller', 'string', 'The object that owns and controls this revision.'),
  col('Revision', 'string', 'Revision number of the stored state.'),
  AGE,
);

function controllerRevisionRow(obj: KubeObject, now: number): unknown[] {
  let controller = '<none>';
  const refs = obj.metadata?.ownerReferences;
  if (refs) {
    for (const r of refs) {
      if (r.controller) {
        const slash = r.apiVersion.indexOf('/');
        const group = slash >= 0 ? r.apiVersion.slice(0, slash) : '';
        const gk = group ? `${r.kind}.${group}` : r.kind;
        controller = gk ? `${gk.toLowerCase()}/${r.name}` : r.name;
        break;
      }
    }
  }
  return [obj.metadata?.name ?? '', controller, num((obj as unknown as ControllerRevision).revision), since(obj.metadata?.creationTimestamp, now)];
}

// ---------------------------------------------------------------- Job

const jobColumns = templateColumns([
  col('Status', 'string', 'Overall state of the job.'),
  col('Completions', 'string', 'Succeeded pods out of the completions the job needs.'),
  col('Duration', 'string', 'How long the job ran, or has been running.'),
]);

function jobCondition(job: Job, type: string): boolean {
  const conds = job.status?.conditions;
  if (conds) for (const c of conds) if (c.type === type) return c.status === 'True';
  return false;
}

function jobRow(obj: KubeObject, now: number): unknown[] {
  const job = obj as unknown as Job;
  const succeeded = num(job.status?.succeeded);
  let completions = job.spec?.completions;
  const parallelism = job.spec?.parallelism;
  // Defaulting gives a job with neither field one completion.
  if ((completions === undefined || completions === null) && (parallelism === undefined || parallelism === null)) completions = 1;
  let completionsText: string;
  if (completions !== undefined && completions !== null) completionsText = `${succeeded}/${completions}`;
  else if ((parallelism ?? 1) > 1) completionsText = `${succeeded}/1 of ${parallelism}`;
  else completionsText = `${succeeded}/1`;

  let duration = '';
  const start = parseTime(job.status?.startTime);
  if (!Number.isNaN(start)) {
    const end = parseTime(job.status?.completionTime);
    duration = humanDuration((Number.isNaN(end) ? now : end) - start);
  }

  let status: string;
  if (jobCondition(job, 'Complete')) status = 'Complete';
  else if (jobCondition(job, 'Failed')) status = 'Failed';
  else if (obj.metadata?.deletionTimestamp) status = 'Terminating';
  else if (jobCondition(job, 'Suspended')) status = 'Suspended';
  else if (jobCondition(job, 'FailureTarget')) status = 'FailureTarget';
  else status = 'Running';

  return templateRow(obj, now, [status, completionsText, duration], job.spec?.template?.spec?.containers, formatLabelSelector(job.spec?.selector));
}

// ---------------------------------------------------------------- CronJob

const cronJobColumns = templateColumns([
  col('Schedule', 'string', 'Cron schedule the jobs are created on.'),
  col('Timezone', 'string', 'Time zone the schedule is read in.'),
  col('Suspend', 'boolean', 'Whether creating new jobs is suspended.'),
  col('Active', 'integer', 'Number of jobs currently running.'),
  col('Last Schedule', 'string', 'How long ago a job was last scheduled.'),
]);

function cronJobRow(obj: KubeObject, now: number): unknown[] {
  const cj = obj as unknown as CronJob;
  const last = cj.status?.lastScheduleTime;
  const jobSpec = cj.spec?.jobTemplate?.spec;
  const own = [
    cj.spec?.schedule ?? '',
    cj.spec?.timeZone ?? '<none>',
    boolPtr(cj.spec?.suspend ?? false),
    cj.status?.active?.length ?? 0,
    last ? since(last, now) : '<none>',
  ];
  return templateRow(obj, now, own, jobSpec?.template?.spec?.containers, formatLabelSelector(jobSpec?.selector));
}

// ---------------------------------------------------------------- HorizontalPodAutoscaler

const hpaColumns = cols(
  NAME,
  col('Reference', 'string', 'The scaled object, as kind/name.'),
  col('Targets', 'string', 'Current and target values of the metrics that drive scaling.'),
  col('MinPods', 'string', 'Lower bound on the number of replicas.'),
  col('MaxPods', 'string', 'Upper bound on the number of replicas.'),
  col('Replicas', 'string', 'Current number of replicas.'),
  AGE,
);

const DEFAULT_CPU_METRICS: MetricSpec[] = [
  { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
];

const qty = (q: string | undefined): string => (q === undefined || q === null ? '<nil>' : canonicalQuantity(q));

function formatHPAMetrics(specs: MetricSpec[], statuses: MetricStatus[] | undefined): string {
  if (specs.length === 0) return '<none>';
  const max = 2;
  const list: string[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const st = statuses && statuses.length > i ? statuses[i] : undefined;
    switch (spec.type) {
      case 'External': {
        const target = spec.external?.target;
        if (target?.averageValue !== undefined) {
          const cur = st?.external?.current?.averageValue;
          list.push(`${cur !== undefined ? qty(cur) : '<unknown>'}/${qty(target.averageValue)} (avg)`);
        } else {
          const cur = st?.external ? qty(st.external.current?.value) : '<unknown>';
          list.push(`${cur}/${qty(target?.value)}`);
        }
        break;
      }
      case 'Pods': {
        const cur = st?.pods ? qty(st.pods.current?.averageValue) : '<unknown>';
        list.push(`${cur}/${qty(spec.pods?.target?.averageValue)}`);
        break;
      }
      case 'Object': {
        const target = spec.object?.target;
        if (target?.averageValue !== undefined) {
          const cur = st?.object?.current?.averageValue;
          list.push(`${cur !== undefined ? qty(cur) : '<unknown>'}/${qty(target.averageValue)} (avg)`);
        } else {
          const cur = st?.object ? qty(st.object.current?.value) : '<unknown>';
          list.push(`${cur}/${qty(target?.value)}`);
        }
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const src = spec.type === 'Resource' ? spec.resource : spec.containerResource;
        const cst = spec.type === 'Resource' ? st?.resource : st?.containerResource;
        const name = src?.name ?? '';
        const target = src?.target;
        if (target?.averageValue !== undefined) {
          const cur = cst ? qty(cst.current?.averageValue) : '<unknown>';
          list.push(`${name}: ${cur}/${qty(target.averageValue)}`);
        } else {
          const cu = cst?.current?.averageUtilization;
          const cur = cu !== undefined && cu !== null ? `${cu}%` : '<unknown>';
          const tu = target?.averageUtilization;
          const tgt = tu !== undefined && tu !== null ? `${tu}%` : '<auto>';
          list.push(`${name}: ${cur}/${tgt}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  }
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

function hpaRow(obj: KubeObject, now: number): unknown[] {
  const hpa = obj as unknown as HorizontalPodAutoscaler & HPAv1;
  const spec = hpa.spec;
  let metrics = spec?.metrics;
  let current = hpa.status?.currentMetrics;
  // An autoscaling/v1 object carries a single CPU target instead of a metric list.
  if (!metrics && spec?.targetCPUUtilizationPercentage !== undefined) {
    metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
    const cur = hpa.status?.currentCPUUtilizationPercentage;
    if (!current && cur !== undefined && cur !== null) {
      current = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } }];
    }
  }
  if (!metrics || metrics.length === 0) metrics = DEFAULT_CPU_METRICS;
  const ref = spec?.scaleTargetRef;
  return [
    obj.metadata?.name ?? '',
    `${ref?.kind ?? ''}/${ref?.name ?? ''}`,
    formatHPAMetrics(metrics, current),
    String(spec?.minReplicas ?? 1),
    num(spec?.maxReplicas),
    num(hpa.status?.currentReplicas),
    since(obj.metadata?.creationTimestamp, now),
  ];
}

// ---------------------------------------------------------------- PodDisruptionBudget

const pdbColumns = cols(
  NAME,
  col('Min Available', 'string', 'Pods that must stay available during a disruption.'),
  col('Max Unavailable', 'string', 'Pods that may be unavailable during a disruption.'),
  col('Allowed Disruptions', 'integer', 'Pod disruptions currently allowed.'),
  AGE,
);

function pdbRow(obj: KubeObject, now: number): unknown[] {
  const pdb = obj as unknown as PodDisruptionBudget;
  const minA = pdb.spec?.minAvailable;
  const maxU = pdb.spec?.maxUnavailable;
  return [
    obj.metadata?.name ?? '',
    minA !== undefined && minA !== null ? intOrString(minA) : 'N/A',
    maxU !== undefined && maxU !== null ? intOrString(maxU) : 'N/A',
    num(pdb.status?.disruptionsAllowed),
    since(obj.metadata?.creationTimestamp, now),
  ];
}

export const APPS_PRINTERS: Printer[] = [
  { group: 'apps', kind: 'Deployment', columns: deploymentColumns, row: deploymentRow },
  { group: 'apps', kind: 'ReplicaSet', columns: replicaSetColumns, row: replicaSetRow },
  { group: 'apps', kind: 'StatefulSet', columns: statefulSetColumns, row: statefulSetRow },
  { group: 'apps', kind: 'DaemonSet', columns: daemonSetColumns, row: daemonSetRow },
  { group: 'apps', kind: 'ControllerRevision', columns: controllerRevisionColumns, row: controllerRevisionRow },
  { group: 'batch', kind: 'Job', columns: jobColumns, row: jobRow },
  { group: 'batch', kind: 'CronJob', columns: cronJobColumns, row: cronJobRow },
  { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', columns: hpaColumns, row: hpaRow },
  { group: 'policy', kind: 'PodDisruptionBudget', columns: pdbColumns, row: pdbRow },
];
