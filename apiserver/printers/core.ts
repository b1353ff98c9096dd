// Printers for core/v1 kinds.
import type {
  ComponentStatus,
  ConfigMap,
  ContainerStatus,
  Endpoints,
  Event as CoreEvent,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodTemplate,
  ReplicationController,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { Event as NewEvent } from 'kubernetes-types/events/v1.js';
import type { KubeObject } from '../../machinery/object.js';
import { AGE, NAME, col, cols } from './columns.js';
import { parseTime, since, sinceMs } from './duration.js';
import { containerImages, containerNames, formatLabels, joinHostPort, num, sortedUniqueJoin } from './format.js';
import { canonicalQuantity } from './quantity.js';
import { REPLICA_COUNT_COLUMNS, replicaCounts, templateColumns, templateRow } from './template.js';
import type { Printer, TableRowCondition } from './types.js';

// ---------------------------------------------------------------- Pod

const podColumns = cols(
  NAME,
  col('Ready', 'string', 'Ready containers out of all containers in the pod.'),
  col('Status', 'string', 'Summary of the pod phase and its containers\' states.'),
  col('Restarts', 'string', 'Container restarts in the pod, and how long ago the latest one happened.'),
  AGE,
  col('IP', 'string', 'IP address allocated to the pod.', 1),
  col('Node', 'string', 'Node the pod is scheduled to.', 1),
  col('Nominated Node', 'string', 'Node the scheduler nominated for the pod while preempting other pods.', 1),
  col('Readiness Gates', 'string', 'Readiness gates whose condition is True, out of all readiness gates.', 1),
);

function terminatedAt(cs: ContainerStatus): number {
  const t = cs.lastState?.terminated;
  return t ? parseTime(t.finishedAt) : NaN;
}

/** Later of two optional times (NaN = unset). */
function later(a: number, b: number): number {
  if (Number.isNaN(b)) return a;
  if (Number.isNaN(a)) return b;
  return b > a ? b : a;
}

function hasTrueCondition(conds: readonly { type: string; status: string }[] | undefined, type: string): boolean {
  if (conds) for (const c of conds) if (c.type === type) return c.status === 'True';
  return false;
}

function podRow(obj: KubeObject, now: number): unknown[] {
  const pod = obj as unknown as Pod;
  const spec = pod.spec;
  const status = pod.status ?? {};
  const initSpecs = spec?.initContainers;
  const phase = status.phase ?? '';
  let reason = status.reason || phase;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = NaN;
  let lastSidecarRestart = NaN;
  let ready = 0;
  let total = spec?.containers?.length ?? 0;

  const conditions = status.conditions;
  if (conditions) {
    for (const c of conditions) if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  if (initSpecs) for (const c of initSpecs) if (c.restartPolicy === 'Always') total++;

  let initializing = false;
  const initStatuses = status.initContainerStatuses;
  if (initStatuses) {
    for (let i = 0; i < initStatuses.length; i++) {
      const cs = initStatuses[i]!;
      restarts += num(cs.restartCount);
      const finished = terminatedAt(cs);
      lastRestart = later(lastRestart, finished);
      let sidecar = false;
      if (initSpecs) {
        for (const c of initSpecs) {
          if (c.name === cs.name) {
            sidecar = c.restartPolicy === 'Always';
            break;
          }
        }
      }
      if (sidecar) {
        sidecarRestarts += num(cs.restartCount);
        lastSidecarRestart = later(lastSidecarRestart, finished);
      }
      const term = cs.state?.terminated;
      const wait = cs.state?.waiting;
      if (term && num(term.exitCode) === 0) continue;
      if (sidecar && cs.started === true) {
        if (cs.ready) ready++;
        continue;
      }
      if (term) {
        if (!term.reason) {
          reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${num(term.exitCode)}`;
        } else {
          reason = 'Init:' + term.reason;
        }
      } else if (wait && wait.reason && wait.reason !== 'PodInitializing') {
        reason = 'Init:' + wait.reason;
      } else {
        reason = `Init:${i}/${initSpecs?.length ?? 0}`;
      }
      initializing = true;
      break;
    }
  }

  if (!initializing || hasTrueCondition(conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses;
    if (statuses) {
      for (let i = statuses.length - 1; i >= 0; i--) {
        const cs = statuses[i]!;
        restarts += num(cs.restartCount);
        lastRestart = later(lastRestart, terminatedAt(cs));
        const wait = cs.state?.waiting;
        const term = cs.state?.terminated;
        if (wait && wait.reason) {
          reason = wait.reason;
        } else if (term && term.reason) {
          reason = term.reason;
        } else if (term) {
          reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${num(term.exitCode)}`;
        } else if (cs.ready && cs.state?.running) {
          hasRunning = true;
          ready++;
        }
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = hasTrueCondition(conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  const restartsText =
    restarts !== 0 && !Number.isNaN(lastRestart) ? `${restarts} (${sinceMs(lastRestart, now)} ago)` : String(restarts);

  let ip = status.podIPs?.[0]?.ip || status.podIP || '';
  if (ip === '') ip = '<none>';
  const node = spec?.nodeName || '<none>';
  const nominated = status.nominatedNodeName || '<none>';
  let gates = '<none>';
  const rg = spec?.readinessGates;
  if (rg && rg.length > 0) {
    let trueCount = 0;
    for (const g of rg) {
      if (conditions) {
        for (const c of conditions) {
          if (c.type === g.conditionType) {
            if (c.status === 'True') trueCount++;
            break;
          }
        }
      }
    }
    gates = `${trueCount}/${rg.length}`;
  }

  return [
    pod.metadata?.name ?? '',
    `${ready}/${total}`,
    reason,
    restartsText,
    since(pod.metadata?.creationTimestamp, now),
    ip,
    node,
    nominated,
    gates,
  ];
}

const POD_SUCCEEDED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
];
const POD_FAILED: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** Row conditions upstream attaches to pods that have finished. */
export function podRowConditions(obj: KubeObject): TableRowCondition[] | undefined {
  const phase = (obj as unknown as Pod).status?.phase;
  return phase === 'Succeeded' ? POD_SUCCEEDED : phase === 'Failed' ? POD_FAILED : undefined;
}

// ---------------------------------------------------------------- PodTemplate

const podTemplateColumns = cols(
  NAME,
  col('Containers', 'string', 'Names of the containers in the template.'),
  col('Images', 'string', 'Container images used by the template.'),
  col('Pod Labels', 'string', 'Labels given to pods made from the template.'),
);

function podTemplateRow(obj: KubeObject): unknown[] {
  const t = (obj as unknown as PodTemplate).template;
  const containers = t?.spec?.containers;
  return [obj.metadata?.name ?? '', containerNames(containers), containerImages(containers), formatLabels(t?.metadata?.labels)];
}

// ---------------------------------------------------------------- ReplicationController

// The ReplicaSet printer's layout; only the selector is a plain label map here.
const rcColumns = templateColumns(REPLICA_COUNT_COLUMNS, col('Selector', 'string', 'Label query over the pods this controller manages.', 1));

function rcRow(obj: KubeObject, now: number): unknown[] {
  const rc = obj as unknown as ReplicationController;
  return templateRow(obj, now, replicaCounts(rc), rc.spec?.template?.spec?.containers, formatLabels(rc.spec?.selector));
}

// ---------------------------------------------------------------- Service

const serviceColumns = cols(
  NAME,
  col('Type', 'string', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
  col('Cluster-IP', 'string', 'Virtual IP address of the service inside the cluster.'),
  col('External-IP', 'string', 'Addresses the service is reachable at from outside the cluster.'),
  col('Port(s)', 'string', 'Ports the service exposes.'),
  AGE,
  col('Selector', 'string', 'Label query over the pods that back the service.', 1),
);

function serviceExternalIP(svc: Service, type: string): string {
  const external = svc.spec?.externalIPs;
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return external && external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb: string[] = [];
      const ingress = svc.status?.loadBalancer?.ingress;
      if (ingress) {
        for (const i of ingress) {
          if (i.ip) lb.push(i.ip);
          else if (i.hostname) lb.push(i.hostname);
        }
      }
      const lbText = sortedUniqueJoin(lb);
      if (external && external.length > 0) return lbText ? lbText + ',' + external.join(',') : external.join(',');
      return lbText || '<pending>';
    }
    case 'ExternalName':
      return svc.spec?.externalName ?? '';
  }
  return '<unknown>';
}

function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports;
  if (!ports || ports.length === 0) return '<none>';
  let out = '';
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i]!;
    if (i > 0) out += ',';
    const proto = p.protocol || 'TCP';
    out += p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
  }
  return out;
}

function serviceRow(obj: KubeObject, now: number): unknown[] {
  const svc = obj as unknown as Service;
  const type = svc.spec?.type || 'ClusterIP';
  const ips = svc.spec?.clusterIPs;
  const clusterIP = ips && ips.length > 0 ? ips[0]! : svc.spec?.clusterIP || '<none>';
  return [
    obj.metadata?.name ?? '',
    type,
    clusterIP,
    serviceExternalIP(svc, type),
    servicePorts(svc),
    since(obj.metadata?.creationTimestamp, now),
    formatLabels(svc.spec?.selector),
  ];
}

// ---------------------------------------------------------------- Endpoints

const endpointsColumns = cols(NAME, col('Endpoints', 'string', 'Addresses and ports of the endpoints behind the service.'), AGE);

function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets;
  if (!subsets || subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports;
    if (!ports || ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, p.port));
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

function endpointsRow(obj: KubeObject, now: number): unknown[] {
  return [obj.metadata?.name ?? '', formatEndpoints(obj as unknown as Endpoints), since(obj.metadata?.creationTimestamp, now)];
}

// ---------------------------------------------------------------- Node

const nodeColumns = cols(
  NAME,
  col('Status', 'string', 'Readiness of the node, and whether scheduling onto it is disabled.'),
  col('Roles', 'string', 'Roles taken from the node\'s role labels.'),
  AGE,
  col('Version', 'string', 'Kubelet version reported by the node.'),
  col('Internal-IP', 'string', 'First internal IP address of the node.', 1),
  col('External-IP', 'string', 'First external IP address of the node.', 1),
  col('OS-Image', 'string', 'Operating system image reported by the node.', 1),
  col('Kernel-Version', 'string', 'Kernel version reported by the node.', 1),
  col('Container-Runtime', 'string', 'Container runtime name and version reported by the node.', 1),
);

const ROLE_PREFIX = 'node-role.kubernetes.io/';

function nodeRoles(labels: Record<string, string> | undefined): string {
  if (!labels) return '<none>';
  const roles: string[] = [];
  for (const k in labels) {
    if (k.startsWith(ROLE_PREFIX)) {
      if (k.length > ROLE_PREFIX.length) roles.push(k.slice(ROLE_PREFIX.length));
    } else if (k === 'kubernetes.io/role' && labels[k] !== '') {
      roles.push(labels[k]!);
    }
  }
  return sortedUniqueJoin(roles) || '<none>';
}

function nodeAddress(node: Node, type: string): string {
  const addrs = node.status?.addresses;
  if (addrs) for (const a of addrs) if (a.type === type) return a.address;
  return '<none>';
}

function nodeRow(obj: KubeObject, now: number): unknown[] {
  const node = obj as unknown as Node;
  let status = 'Unknown';
  const conds = node.status?.conditions;
  if (conds) {
    // The last Ready condition wins, as a map keyed by type would keep it.
    for (const c of conds) if (c.type === 'Ready') status = c.status === 'True' ? 'Ready' : 'NotReady';
  }
  if (node.spec?.unschedulable) status += ',SchedulingDisabled';
  const info = node.status?.nodeInfo;
  return [
    obj.metadata?.name ?? '',
    status,
    nodeRoles(obj.metadata?.labels),
    since(obj.metadata?.creationTimestamp, now),
    info?.kubeletVersion ?? '',
    nodeAddress(node, 'InternalIP'),
    nodeAddress(node, 'ExternalIP'),
    info?.osImage || '<unknown>',
    info?.kernelVersion || '<unknown>',
    info?.containerRuntimeVersion || '<unknown>',
  ];
}

// ---------------------------------------------------------------- Namespace, ConfigMap, Secret, ServiceAccount

const namespaceColumns = cols(NAME, col('Status', 'string', 'Lifecycle phase of the namespace.'), AGE);
function namespaceRow(obj: KubeObject, now: number): unknown[] {
  return [obj.metadata?.name ?? '', (obj as unknown as Namespace).status?.phase || 'Active', since(obj.metadata?.creationTimestamp, now)];
}

const configMapColumns = cols(NAME, col('Data', 'string', 'Number of keys in data and binaryData.'), AGE);
function configMapRow(obj: KubeObject, now: number): unknown[] {
  const cm = obj as unknown as ConfigMap;
  const n = (cm.data ? Object.keys(cm.data).length : 0) + (cm.binaryData ? Object.keys(cm.binaryData).length : 0);
  return [obj.metadata?.name ?? '', n, since(obj.metadata?.creationTimestamp, now)];
}

const secretColumns = cols(
  NAME,
  col('Type', 'string', 'Kind of secret, which decides the keys it must hold.'),
  col('Data', 'string', 'Number of keys in the secret.'),
  AGE,
);
function secretRow(obj: KubeObject, now: number): unknown[] {
  const s = obj as unknown as Secret;
  let n = s.data ? Object.keys(s.data).length : 0;
  // stringData is folded into data on write; count keys that have not been folded yet.
  if (s.stringData) for (const k in s.stringData) if (!s.data || !(k in s.data)) n++;
  return [obj.metadata?.name ?? '', s.type || 'Opaque', n, since(obj.metadata?.creationTimestamp, now)];
}

const serviceAccountColumns = cols(NAME, col('Secrets', 'string', 'Number of secrets listed on the service account.'), AGE);
function serviceAccountRow(obj: KubeObject, now: number): unknown[] {
  return [obj.metadata?.name ?? '', (obj as unknown as ServiceAccount).secrets?.length ?? 0, since(obj.metadata?.creationTimestamp, now)];
}

// ---------------------------------------------------------------- Event (core/v1 and events.k8s.io/v1)

const eventColumns = cols(
  col('Last Seen', 'string', 'How long ago the event was last observed.'),
  col('Type', 'string', 'Event type: Normal or Warning.'),
  col('Reason', 'string', 'Short machine-readable reason for the event.'),
  col('Object', 'string', 'The object the event is about.'),
  col('Subobject', 'string', 'Field path inside the object, such as a container.', 1),
  col('Source', 'string', 'Component (and host) that reported the event.', 1),
  col('Message', 'string', 'Human-readable description of the event.'),
  col('First Seen', 'string', 'How long ago the event was first observed.', 1),
  col('Count', 'string', 'How many times the event has occurred.', 1),
  col('Name', 'string', 'Name of the event object.', 1, 'name'),
);

type AnyEvent = CoreEvent & Partial<Omit<NewEvent, 'apiVersion' | 'kind' | 'metadata' | 'eventTime'>>;

function eventRow(obj: KubeObject, now: number): unknown[] {
  const ev = obj as unknown as AnyEvent;
  // Read core/v1 field names first, then their events.k8s.io/v1 counterparts.
  const first = ev.firstTimestamp ?? ev.deprecatedFirstTimestamp;
  let firstSeen: string;
  if (Number.isNaN(parseTime(first))) firstSeen = since(ev.eventTime, now);
  else firstSeen = since(first, now);
  const last = ev.lastTimestamp ?? ev.deprecatedLastTimestamp;
  let lastSeen = Number.isNaN(parseTime(last)) ? firstSeen : since(last, now);
  let count = ev.count ?? ev.deprecatedCount ?? 0;
  if (ev.series) {
    lastSeen = since(ev.series.lastObservedTime, now);
    count = num(ev.series.count);
  } else if (count === 0) {
    count = 1;
  }
  const involved = ev.involvedObject ?? ev.regarding;
  const kind = (involved?.kind ?? '').toLowerCase();
  const target = involved?.name ? `${kind}/${involved.name}` : kind;
  const src = ev.source ?? ev.deprecatedSource;
  const component = src?.component || ev.reportingController || ev.reportingComponent || '';
  const host = src?.host || ev.reportingInstance || '';
  const source = host ? `${component}, ${host}` : component;
  const message = (ev.message ?? ev.note ?? '').trim();
  return [
    lastSeen,
    ev.type ?? '',
    ev.reason ?? '',
    target,
    involved?.fieldPath ?? '',
    source,
    message,
    firstSeen,
    count,
    obj.metadata?.name ?? '',
  ];
}

// ---------------------------------------------------------------- PersistentVolume, PersistentVolumeClaim

const ACCESS_MODE_ABBREV: readonly [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

/** Access modes abbreviated, always in the order RWO,ROX,RWX,RWOP. */
export function accessModes(modes: readonly string[] | undefined): string {
  if (!modes || modes.length === 0) return '';
  let out = '';
  for (const [mode, abbrev] of ACCESS_MODE_ABBREV) {
    if (modes.includes(mode)) out += out ? ',' + abbrev : abbrev;
  }
  return out;
}

const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/** The storage class of a volume or claim: the old beta annotation wins over the field, as upstream prints it. */
function storageClass(obj: KubeObject, spec: { storageClassName?: string }): string {
  const ann = obj.metadata?.annotations;
  return ann && BETA_CLASS_ANNOTATION in ann ? ann[BETA_CLASS_ANNOTATION]! : spec.storageClassName ?? '';
}

/** The phase of a volume or claim, `Terminating` once it is being deleted. */
function volumePhase(obj: KubeObject, phase: string | undefined): string {
  return obj.metadata?.deletionTimestamp ? 'Terminating' : phase || 'Pending';
}

const pvColumns = cols(
  NAME,
  col('Capacity', 'string', 'Storage capacity of the volume.'),
  col('Access Modes', 'string', 'Ways the volume can be mounted.'),
  col('Reclaim Policy', 'string', 'What happens to the volume once its claim is released.'),
  col('Status', 'string', 'Phase of the volume.'),
  col('Claim', 'string', 'Namespace/name of the claim bound to the volume.'),
  col('StorageClass', 'string', 'Storage class of the volume.'),
  col('VolumeAttributesClass', 'string', 'Volume attributes class of the volume.'),
  col('Reason', 'string', 'Why the volume is in its current phase, if known.'),
  AGE,
  col('VolumeMode', 'string', 'Whether the volume is a filesystem or a raw block device.', 1),
);

function pvRow(obj: KubeObject, now: number): unknown[] {
  const pv = obj as unknown as PersistentVolume;
  const spec = pv.spec ?? {};
  const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
  return [
    obj.metadata?.name ?? '',
    canonicalQuantity(spec.capacity?.storage),
    accessModes(spec.accessModes),
    spec.persistentVolumeReclaimPolicy || 'Retain',
    volumePhase(obj, pv.status?.phase),
    claim,
    storageClass(obj, spec),
    spec.volumeAttributesClassName ?? '<unset>',
    pv.status?.reason ?? '',
    since(obj.metadata?.creationTimestamp, now),
    spec.volumeMode ?? 'Filesystem',
  ];
}

const pvcColumns = cols(
  NAME,
  col('Status', 'string', 'Phase of the claim.'),
  col('Volume', 'string', 'Name of the volume bound to the claim.'),
  col('Capacity', 'string', 'Storage capacity of the bound volume.'),
  col('Access Modes', 'string', 'Ways the bound volume can be mounted.'),
  col('StorageClass', 'string', 'Storage class requested by the claim.'),
  col('VolumeAttributesClass', 'string', 'Volume attributes class requested by the claim.'),
  AGE,
  col('VolumeMode', 'string', 'Whether the claim wants a filesystem or a raw block device.', 1),
);

function pvcRow(obj: KubeObject, now: number): unknown[] {
  const pvc = obj as unknown as PersistentVolumeClaim;
  const spec = pvc.spec ?? {};
  let capacity = '';
  let modes = '';
  if (spec.volumeName) {
    modes = accessModes(pvc.status?.accessModes);
    capacity = canonicalQuantity(pvc.status?.capacity?.storage);
  }
  return [
    obj.metadata?.name ?? '',
    volumePhase(obj, pvc.status?.phase),
    spec.volumeName ?? '',
    capacity,
    modes,
    storageClass(obj, spec),
    spec.volumeAttributesClassName ?? '<unset>',
    since(obj.metadata?.creationTimestamp, now),
    spec.volumeMode ?? 'Filesystem',
  ];
}

// ---------------------------------------------------------------- ResourceQuota

const resourceQuotaColumns = cols(
  NAME,
  col('Request', 'string', 'Used and hard amounts of the non-limit resources in the quota.'),
  col('Limit', 'string', 'Used and hard amounts of the limits.* resources in the quota.'),
  AGE,
);

function resourceQuotaRow(obj: KubeObject, now: number): unknown[] {
  const rq = obj as unknown as ResourceQuota;
  const hard = rq.status?.hard;
  const used = rq.status?.used;
  let request = '';
  let limit = '';
  if (hard) {
    const names = Object.keys(hard).sort();
    for (const name of names) {
      const item = `${name}: ${canonicalQuantity(used?.[name])}/${canonicalQuantity(hard[name])}`;
      const dot = name.indexOf('.');
      if (dot > 0 && name.slice(0, dot) === 'limits') limit += limit ? ', ' + item : item;
      else request += request ? ', ' + item : item;
    }
  }
  return [obj.metadata?.name ?? '', request, limit, since(obj.metadata?.creationTimestamp, now)];
}

// ---------------------------------------------------------------- ComponentStatus

const componentStatusColumns = cols(
  NAME,
  col('Status', 'string', 'Health of the component.'),
  col('Message', 'string', 'Message reported with the health condition.'),
  col('Error', 'string', 'Error reported with the health condition.'),
);

function componentStatusRow(obj: KubeObject): unknown[] {
  let status = 'Unknown';
  let message = '';
  let error = '';
  const conds = (obj as unknown as ComponentStatus).conditions;
  if (conds) {
    for (const c of conds) {
      if (c.type === 'Healthy') {
        status = c.status === 'True' ? 'Healthy' : 'Unhealthy';
        message = c.message ?? '';
        error = c.error ?? '';
        break;
      }
    }
  }
  return [obj.metadata?.name ?? '', status, message, error];
}

export const CORE_PRINTERS: Printer[] = [
  { group: '', kind: 'Pod', columns: podColumns, row: podRow },
  { group: '', kind: 'PodTemplate', columns: podTemplateColumns, row: podTemplateRow },
  { group: '', kind: 'ReplicationController', columns: rcColumns, row: rcRow },
  { group: '', kind: 'Service', columns: serviceColumns, row: serviceRow },
  { group: '', kind: 'Endpoints', columns: endpointsColumns, row: endpointsRow },
  { group: '', kind: 'Node', columns: nodeColumns, row: nodeRow },
  { group: '', kind: 'Namespace', columns: namespaceColumns, row: namespaceRow },
  { group: '', kind: 'ConfigMap', columns: configMapColumns, row: configMapRow },
  { group: '', kind: 'Secret', columns: secretColumns, row: secretRow },
  { group: '', kind: 'ServiceAccount', columns: serviceAccountColumns, row: serviceAccountRow },
  { group: '', kind: 'Event', columns: eventColumns, row: eventRow },
  { group: 'events.k8s.io', kind: 'Event', columns: eventColumns, row: eventRow },
  { group: '', kind: 'PersistentVolume', columns: pvColumns, row: pvRow },
  { group: '', kind: 'PersistentVolumeClaim', columns: pvcColumns, row: pvcRow },
  { group: '', kind: 'ResourceQuota', columns: resourceQuotaColumns, row: resourceQuotaRow },
  { group: '', kind: 'ComponentStatus', columns: componentStatusColumns, row: componentStatusRow },
];
