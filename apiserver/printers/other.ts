// Printers for networking, RBAC, storage, scheduling, coordination, discovery,
// admission, certificates, node and flow-control kinds.
import type {
  MutatingWebhookConfiguration,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
  ValidatingWebhookConfiguration,
} from 'kubernetes-types/admissionregistration/v1.js';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { FlowSchema, PriorityLevelConfiguration } from 'kubernetes-types/flowcontrol/v1.js';
import type { Ingress, IngressClass, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { RuntimeClass } from 'kubernetes-types/node/v1.js';
import type { ClusterRoleBinding, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { CSIDriver, CSINode, CSIStorageCapacity, StorageClass, VolumeAttachment } from 'kubernetes-types/storage/v1.js';
import type { KubeObject } from '../../machinery/object.js';
import { AGE, NAME, col, cols } from './columns.js';
import { humanDuration, since } from './duration.js';
import { formatLabelSelector, listWithMore, num, selectorString, sortedUniqueJoin } from './format.js';
import { canonicalQuantity } from './quantity.js';
import type { Printer } from './types.js';

const nameOf = (obj: KubeObject): string => obj.metadata?.name ?? '';
const ageOf = (obj: KubeObject, now: number): string => since(obj.metadata?.creationTimestamp, now);

// ---------------------------------------------------------------- networking.k8s.io

const ingressColumns = cols(
  NAME,
  col('Class', 'string', 'IngressClass that handles this ingress.'),
  col('Hosts', 'string', 'Host names the ingress rules match.'),
  col('Address', 'string', 'Load-balancer addresses of the ingress.'),
  col('Ports', 'string', 'Ports the ingress serves on.'),
  AGE,
);

function ingressHosts(ing: Ingress): string {
  const rules = ing.spec?.rules;
  if (!rules) return '*';
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of rules) {
    if (list.length === max) more = true;
    if (!more && r.host) list.push(r.host);
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${rules.length - max} more...` : ret;
}

function ingressRow(obj: KubeObject, now: number): unknown[] {
  const ing = obj as unknown as Ingress;
  const addrs: string[] = [];
  const lb = ing.status?.loadBalancer?.ingress;
  if (lb) {
    for (const i of lb) {
      if (i.ip) addrs.push(i.ip);
      else if (i.hostname) addrs.push(i.hostname);
    }
  }
  return [
    nameOf(obj),
    ing.spec?.ingressClassName ?? '<none>',
    ingressHosts(ing),
    sortedUniqueJoin(addrs),
    ing.spec?.tls && ing.spec.tls.length > 0 ? '80, 443' : '80',
    ageOf(obj, now),
  ];
}

const ingressClassColumns = cols(
  NAME,
  col('Controller', 'string', 'Controller that implements this class.'),
  col('Parameters', 'string', 'Object holding extra configuration for the controller.'),
  AGE,
);

function ingressClassRow(obj: KubeObject, now: number): unknown[] {
  const ic = obj as unknown as IngressClass;
  const p = ic.spec?.parameters;
  let params = '<none>';
  if (p) params = (p.apiGroup ? `${p.kind}.${p.apiGroup}` : p.kind) + '/' + p.name;
  return [nameOf(obj), ic.spec?.controller ?? '', params, ageOf(obj, now)];
}

const networkPolicyColumns = cols(NAME, col('Pod-Selector', 'string', 'Label query over the pods the policy applies to.'), AGE);

function networkPolicyRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), formatLabelSelector((obj as unknown as NetworkPolicy).spec?.podSelector ?? {}), ageOf(obj, now)];
}

// ---------------------------------------------------------------- rbac.authorization.k8s.io

function bindingColumns(what: string) {
  return cols(
    NAME,
    col('Role', 'string', 'The role granted, as kind/name.'),
    AGE,
    col('Users', 'string', `User subjects of the ${what}.`, 1),
    col('Groups', 'string', `Group subjects of the ${what}.`, 1),
    col('ServiceAccounts', 'string', `Service account subjects of the ${what}, as namespace/name.`, 1),
  );
}

const roleBindingColumns = bindingColumns('role binding');
const clusterRoleBindingColumns = bindingColumns('cluster role binding');

function bindingRow(obj: KubeObject, now: number): unknown[] {
  const b = obj as unknown as RoleBinding | ClusterRoleBinding;
  let users = '';
  let groups = '';
  let sas = '';
  const subjects: Subject[] | undefined = b.subjects;
  if (subjects) {
    for (const s of subjects) {
      switch (s.kind) {
        case 'ServiceAccount': {
          const v = `${s.namespace ?? ''}/${s.name}`;
          sas = sas ? sas + ', ' + v : v;
          break;
        }
        case 'User':
          users = users ? users + ', ' + s.name : s.name;
          break;
        case 'Group':
          groups = groups ? groups + ', ' + s.name : s.name;
          break;
      }
    }
  }
  return [nameOf(obj), `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, ageOf(obj, now), users, groups, sas];
}

// ---------------------------------------------------------------- storage.k8s.io

const storageClassColumns = cols(
  NAME,
  col('Provisioner', 'string', 'Volume plugin or CSI driver that provisions volumes of this class.'),
  col('ReclaimPolicy', 'string', 'Reclaim policy given to volumes provisioned from this class.'),
  col('VolumeBindingMode', 'string', 'When claims of this class are bound and provisioned.'),
  col('AllowVolumeExpansion', 'string', 'Whether volumes of this class can be expanded.'),
  AGE,
);

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

function storageClassRow(obj: KubeObject, now: number): unknown[] {
  const sc = obj as unknown as StorageClass;
  const ann = obj.metadata?.annotations;
  let name = nameOf(obj);
  if (ann && (ann[DEFAULT_CLASS] === 'true' || ann[BETA_DEFAULT_CLASS] === 'true')) name += ' (default)';
  return [
    name,
    sc.provisioner ?? '',
    sc.reclaimPolicy ?? 'Delete',
    sc.volumeBindingMode ?? 'Immediate',
    sc.allowVolumeExpansion ?? false,
    ageOf(obj, now),
  ];
}

const csiDriverColumns = cols(
  NAME,
  col('AttachRequired', 'boolean', 'Whether volumes of the driver need an attach step.'),
  col('PodInfoOnMount', 'boolean', 'Whether pod details are passed to the driver on mount.'),
  col('StorageCapacity', 'boolean', 'Whether the scheduler considers the driver\'s reported capacity.'),
  col('TokenRequests', 'string', 'Audiences of service account tokens passed to the driver.'),
  col('RequiresRepublish', 'boolean', 'Whether the driver is called periodically to republish volumes.'),
  col('Modes', 'string', 'Volume lifecycle modes the driver supports.'),
  AGE,
);

function csiDriverRow(obj: KubeObject, now: number): unknown[] {
  const spec = (obj as unknown as CSIDriver).spec ?? {};
  const modes = spec.volumeLifecycleModes;
  let tokenRequests = '<unset>';
  if (spec.tokenRequests) {
    tokenRequests = '';
    for (let i = 0; i < spec.tokenRequests.length; i++) tokenRequests += (i > 0 ? ',' : '') + spec.tokenRequests[i]!.audience;
  }
  return [
    nameOf(obj),
    spec.attachRequired ?? true,
    spec.podInfoOnMount ?? false,
    spec.storageCapacity ?? false,
    tokenRequests,
    spec.requiresRepublish ?? false,
    modes && modes.length > 0 ? modes.join(',') : 'Persistent',
    ageOf(obj, now),
  ];
}

const csiNodeColumns = cols(NAME, col('Drivers', 'integer', 'Number of CSI drivers registered on the node.'), AGE);

function csiNodeRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), (obj as unknown as CSINode).spec?.drivers?.length ?? 0, ageOf(obj, now)];
}

const volumeAttachmentColumns = cols(
  NAME,
  col('Attacher', 'string', 'Driver that attaches the volume.', 0, 'name'),
  col('PV', 'string', 'Persistent volume being attached.'),
  col('Node', 'string', 'Node the volume is attached to.'),
  col('Attached', 'boolean', 'Whether the attach operation has succeeded.'),
  AGE,
);

function volumeAttachmentRow(obj: KubeObject, now: number): unknown[] {
  const va = obj as unknown as VolumeAttachment;
  return [
    nameOf(obj),
    va.spec?.attacher ?? '',
    va.spec?.source?.persistentVolumeName ?? '',
    va.spec?.nodeName ?? '',
    va.status?.attached ?? false,
    ageOf(obj, now),
  ];
}

const csiStorageCapacityColumns = cols(
  NAME,
  col('StorageClassName', 'string', 'Storage class the capacity applies to.'),
  col('Capacity', 'string', 'Capacity reported by the driver.'),
);

function csiStorageCapacityRow(obj: KubeObject): unknown[] {
  const c = obj as unknown as CSIStorageCapacity;
  return [nameOf(obj), c.storageClassName ?? '', c.capacity === undefined ? '<unset>' : canonicalQuantity(c.capacity)];
}

const volumeAttributesClassColumns = cols(NAME, col('DriverName', 'string', 'CSI driver the class belongs to.'), AGE);

function volumeAttributesClassRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), typeof obj.driverName === 'string' ? obj.driverName : '', ageOf(obj, now)];
}

// ---------------------------------------------------------------- scheduling, coordination, node

const priorityClassColumns = cols(
  NAME,
  col('Value', 'integer', 'Priority given to pods of this class.'),
  col('Global-Default', 'boolean', 'Whether pods without a class get this one.'),
  AGE,
  col('PreemptionPolicy', 'string', 'Whether pods of this class may preempt lower-priority pods.', 1),
);

function priorityClassRow(obj: KubeObject, now: number): unknown[] {
  const pc = obj as unknown as PriorityClass;
  return [nameOf(obj), num(pc.value), pc.globalDefault ?? false, ageOf(obj, now), pc.preemptionPolicy ?? 'PreemptLowerPriority'];
}

const leaseColumns = cols(NAME, col('Holder', 'string', 'Identity currently holding the lease.'), AGE);

function leaseRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), (obj as unknown as Lease).spec?.holderIdentity ?? '', ageOf(obj, now)];
}

const runtimeClassColumns = cols(NAME, col('Handler', 'string', 'Container runtime handler that runs pods of this class.'), AGE);

function runtimeClassRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), (obj as unknown as RuntimeClass).handler ?? '', ageOf(obj, now)];
}

// ---------------------------------------------------------------- discovery.k8s.io

const endpointSliceColumns = cols(
  NAME,
  col('AddressType', 'string', 'Kind of addresses in the slice: IPv4, IPv6 or FQDN.'),
  col('Ports', 'string', 'Ports exposed by the endpoints.'),
  col('Endpoints', 'string', 'Addresses of the endpoints.'),
  AGE,
);

function endpointSliceRow(obj: KubeObject, now: number): unknown[] {
  const es = obj as unknown as EndpointSlice;
  const max = 3;
  let list: string[] = [];
  let more = false;
  let count = 0;
  if (es.ports) {
    for (const p of es.ports) {
      if (list.length < max) list.push(p.port !== undefined && p.port !== null ? String(p.port) : p.name ?? '*');
      else if (list.length === max) more = true;
      count++;
    }
  }
  const ports = listWithMore(list, more, count, max);
  list = [];
  more = false;
  count = 0;
  if (es.endpoints) {
    for (const e of es.endpoints) {
      for (const a of e.addresses ?? []) {
        if (list.length < max) list.push(a);
        else if (list.length === max) more = true;
        count++;
      }
    }
  }
  return [nameOf(obj), es.addressType ?? '', ports, listWithMore(list, more, count, max), ageOf(obj, now)];
}

// ---------------------------------------------------------------- admissionregistration.k8s.io

const webhookColumns = cols(NAME, col('Webhooks', 'integer', 'Number of webhooks in the configuration.'), AGE);

function webhookRow(obj: KubeObject, now: number): unknown[] {
  return [nameOf(obj), (obj as unknown as MutatingWebhookConfiguration | ValidatingWebhookConfiguration).webhooks?.length ?? 0, ageOf(obj, now)];
}

const vapColumns = cols(
  NAME,
  col('Validations', 'integer', 'Number of validation rules in the policy.'),
  col('ParamKind', 'string', 'Kind of the resources that parameterize the policy.'),
  AGE,
);

function vapRow(obj: KubeObject, now: number): unknown[] {
  const spec = (obj as unknown as ValidatingAdmissionPolicy).spec;
  const pk = spec?.paramKind;
  return [nameOf(obj), spec?.validations?.length ?? 0, pk ? `${pk.apiVersion ?? ''}/${pk.kind ?? ''}` : '<unset>', ageOf(obj, now)];
}

const vapBindingColumns = cols(
  NAME,
  col('PolicyName', 'string', 'Policy this binding applies.'),
  col('ParamRef', 'string', 'Resource that supplies the policy parameters.'),
  AGE,
);

function vapBindingRow(obj: KubeObject, now: number): unknown[] {
  const spec = (obj as unknown as ValidatingAdmissionPolicyBinding).spec;
  const pr = spec?.paramRef;
  let param = '<unset>';
  if (pr) {
    if (pr.name) param = pr.namespace ? `${pr.namespace}/${pr.name}` : `*/${pr.name}`;
    else if (pr.selector) param = selectorString(pr.selector) ?? '';
  }
  return [nameOf(obj), spec?.policyName ?? '', param, ageOf(obj, now)];
}

// ---------------------------------------------------------------- certificates.k8s.io

const csrColumns = cols(
  NAME,
  AGE,
  col('SignerName', 'string', 'Signer asked to sign the certificate.'),
  col('Requestor', 'string', 'User who created the request.'),
  col('RequestedDuration', 'string', 'Validity period asked for the certificate.'),
  col('Condition', 'string', 'Approval and issuance state of the request.'),
);

function csrRow(obj: KubeObject, now: number): unknown[] {
  const csr = obj as unknown as CertificateSigningRequest;
  let approved = false;
  let denied = false;
  let failed = false;
  for (const c of csr.status?.conditions ?? []) {
    if (c.type === 'Approved') approved = true;
    else if (c.type === 'Denied') denied = true;
    else if (c.type === 'Failed') failed = true;
  }
  let condition = denied ? 'Denied' : approved ? 'Approved' : 'Pending';
  if (failed) condition += ',Failed';
  if (csr.status?.certificate) condition += ',Issued';
  const secs = csr.spec?.expirationSeconds;
  return [
    nameOf(obj),
    ageOf(obj, now),
    csr.spec?.signerName || '<none>',
    csr.spec?.username ?? '',
    secs !== undefined && secs !== null ? humanDuration(secs * 1000) : '<none>',
    condition,
  ];
}

// ---------------------------------------------------------------- flowcontrol.apiserver.k8s.io

const flowSchemaColumns = cols(
  NAME,
  col('PriorityLevel', 'string', 'Priority level requests matching the schema are assigned to.'),
  col('MatchingPrecedence', 'string', 'Order in which schemas are matched; lower first.'),
  col('DistinguisherMethod', 'string', 'How requests are split into flows.'),
  AGE,
  col('MissingPL', 'string', 'Whether the referenced priority level is missing.'),
);

function flowSchemaRow(obj: KubeObject, now: number): unknown[] {
  const fs = obj as unknown as FlowSchema;
  let missing = '?';
  for (const c of fs.status?.conditions ?? []) {
    if (c.type === 'Dangling') {
      missing = c.status ?? '';
      break;
    }
  }
  return [
    nameOf(obj),
    fs.spec?.priorityLevelConfiguration?.name ?? '',
    num(fs.spec?.matchingPrecedence ?? 1000),
    fs.spec?.distinguisherMethod?.type ?? '<none>',
    ageOf(obj, now),
    missing,
  ];
}

/** Flow schemas list in matching order: precedence, then name. */
export function compareFlowSchemas(a: KubeObject, b: KubeObject): number {
  const pa = num((a as unknown as FlowSchema).spec?.matchingPrecedence ?? 1000);
  const pb = num((b as unknown as FlowSchema).spec?.matchingPrecedence ?? 1000);
  if (pa !== pb) return pa - pb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

const plcColumns = cols(
  NAME,
  col('Type', 'string', 'Whether the level is Limited or Exempt.'),
  col('NominalConcurrencyShares', 'string', 'Share of the server\'s concurrency limit given to the level.'),
  col('Queues', 'string', 'Number of queues of the level.'),
  col('HandSize', 'string', 'Number of queues each flow is shuffle-sharded onto.'),
  col('QueueLengthLimit', 'string', 'Requests allowed to wait in each queue.'),
  AGE,
);

function plcRow(obj: KubeObject, now: number): unknown[] {
  const spec = (obj as unknown as PriorityLevelConfiguration).spec;
  let ncs: unknown = '<none>';
  let queues: unknown = '<none>';
  let handSize: unknown = '<none>';
  let queueLengthLimit: unknown = '<none>';
  const limited = spec?.limited;
  if (limited) {
    ncs = limited.nominalConcurrencyShares ?? 30;
    const q = limited.limitResponse?.queuing;
    if (q) {
      queues = q.queues ?? 64;
      handSize = q.handSize ?? 8;
      queueLengthLimit = q.queueLengthLimit ?? 50;
    }
  }
  return [nameOf(obj), spec?.type ?? '', ncs, queues, handSize, queueLengthLimit, ageOf(obj, now)];
}

// ---------------------------------------------------------------- apiregistration.k8s.io

const apiServiceColumns = cols(
  NAME,
  col('Service', 'string', 'The reference to the service that hosts this API endpoint.'),
  col('Available', 'string', 'Whether this service is available.'),
  AGE,
);

function apiServiceRow(obj: KubeObject, now: number): unknown[] {
  const spec = (obj.spec ?? {}) as { service?: { namespace?: string; name?: string } | null };
  const service = spec.service ? `${spec.service.namespace ?? ''}/${spec.service.name ?? ''}` : 'Local';
  const cond = ((obj.status as { conditions?: { type?: string; status?: string; reason?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Available');
  const available = !cond ? 'Unknown' : cond.status === 'True' ? 'True' : `${cond.status} (${cond.reason ?? ''})`;
  return [nameOf(obj), service, available, ageOf(obj, now)];
}

export const OTHER_PRINTERS: Printer[] = [
  { group: 'apiregistration.k8s.io', kind: 'APIService', columns: apiServiceColumns, row: apiServiceRow },
  { group: 'networking.k8s.io', kind: 'Ingress', columns: ingressColumns, row: ingressRow },
  { group: 'networking.k8s.io', kind: 'IngressClass', columns: ingressClassColumns, row: ingressClassRow },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy', columns: networkPolicyColumns, row: networkPolicyRow },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', columns: roleBindingColumns, row: bindingRow },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding', columns: clusterRoleBindingColumns, row: bindingRow },
  { group: 'storage.k8s.io', kind: 'StorageClass', columns: storageClassColumns, row: storageClassRow },
  { group: 'storage.k8s.io', kind: 'CSIDriver', columns: csiDriverColumns, row: csiDriverRow },
  { group: 'storage.k8s.io', kind: 'CSINode', columns: csiNodeColumns, row: csiNodeRow },
  { group: 'storage.k8s.io', kind: 'VolumeAttachment', columns: volumeAttachmentColumns, row: volumeAttachmentRow },
  { group: 'storage.k8s.io', kind: 'CSIStorageCapacity', columns: csiStorageCapacityColumns, row: csiStorageCapacityRow },
  { group: 'storage.k8s.io', kind: 'VolumeAttributesClass', columns: volumeAttributesClassColumns, row: volumeAttributesClassRow },
  { group: 'scheduling.k8s.io', kind: 'PriorityClass', columns: priorityClassColumns, row: priorityClassRow },
  { group: 'coordination.k8s.io', kind: 'Lease', columns: leaseColumns, row: leaseRow },
  { group: 'node.k8s.io', kind: 'RuntimeClass', columns: runtimeClassColumns, row: runtimeClassRow },
  { group: 'discovery.k8s.io', kind: 'EndpointSlice', columns: endpointSliceColumns, row: endpointSliceRow },
  { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', columns: webhookColumns, row: webhookRow },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', columns: webhookColumns, row: webhookRow },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy', columns: vapColumns, row: vapRow },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding', columns: vapBindingColumns, row: vapBindingRow },
  { group: 'certificates.k8s.io', kind: 'CertificateSigningRequest', columns: csrColumns, row: csrRow },
  { group: 'flowcontrol.apiserver.k8s.io', kind: 'FlowSchema', columns: flowSchemaColumns, row: flowSchemaRow },
  { group: 'flowcontrol.apiserver.k8s.io', kind: 'PriorityLevelConfiguration', columns: plcColumns, row: plcRow },
];
