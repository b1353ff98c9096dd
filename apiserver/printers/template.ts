// Shared layout of the printers for kinds that run pods from a template (Deployment,
// ReplicaSet, ReplicationController, DaemonSet, Job, CronJob): Name, the kind's own
// columns, Age, then the wide Containers, Images and Selector columns.
import type { KubeObject } from '../../machinery/object.js';
import { AGE, NAME, WIDE_CONTAINERS, WIDE_IMAGES, WIDE_SELECTOR, col, cols } from './columns.js';
import { since } from './duration.js';
import { containerImages, containerNames, num } from './format.js';
import type { TableColumnDefinition } from './types.js';

type Containers = Parameters<typeof containerNames>[0];

/** Name, `own`, Age, then the wide Containers, Images and `selector` columns. */
export function templateColumns(own: readonly TableColumnDefinition[], selector = WIDE_SELECTOR): TableColumnDefinition[] {
  return cols(NAME, ...own, AGE, WIDE_CONTAINERS, WIDE_IMAGES, selector);
}

/** The row that goes with `templateColumns`: `own` are the kind's own cells, `selector` the selector already written out. */
export function templateRow(obj: KubeObject, now: number, own: readonly unknown[], containers: Containers, selector: string): unknown[] {
  return [
    obj.metadata?.name ?? '',
    ...own,
    since(obj.metadata?.creationTimestamp, now),
    containerNames(containers),
    containerImages(containers),
    selector,
  ];
}

// ReplicaSet and ReplicationController print the same replica counts.
export const REPLICA_COUNT_COLUMNS = cols(
  col('Desired', 'integer', 'Requested number of pod replicas.'),
  col('Current', 'integer', 'Number of pod replicas that currently exist.'),
  col('Ready', 'integer', 'Number of pod replicas that are ready.'),
);

interface ReplicaCounts {
  spec?: { replicas?: number | null } | null;
  status?: { replicas?: number | null; readyReplicas?: number | null } | null;
}

/** Desired, Current and Ready cells of a ReplicaSet or ReplicationController. */
export function replicaCounts(o: ReplicaCounts): unknown[] {
  return [o.spec?.replicas ?? 1, num(o.status?.replicas), num(o.status?.readyReplicas)];
}
