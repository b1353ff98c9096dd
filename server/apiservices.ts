// Local APIServices (upstream: kube-aggregator's autoregistration of the groups the
// API server serves itself): one `VERSION.GROUP` APIService per built-in group/version,
// with upstream's group and version priorities and `Available=True` (reason Local).
import type { ApiTransport } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { RESOURCES, resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';

const APISERVICES = resourceByPath('apiregistration.k8s.io', 'v1', 'apiservices')!;

/** Upstream's priorities for the built-in group/versions (kube-apiserver's aggregator setup). */
const PRIORITIES: Record<string, [number, number]> = {
  '/v1': [18000, 1],
  'apiregistration.k8s.io/v1': [18000, 15],
  'apps/v1': [17800, 15],
  'events.k8s.io/v1': [17750, 15],
  'authentication.k8s.io/v1': [17700, 15],
  'authorization.k8s.io/v1': [17600, 15],
  'autoscaling/v1': [17500, 15],
  'autoscaling/v2': [17500, 30],
  'batch/v1': [17400, 15],
  'certificates.k8s.io/v1': [17300, 15],
  'networking.k8s.io/v1': [17200, 15],
  'policy/v1': [17100, 15],
  'rbac.authorization.k8s.io/v1': [17000, 15],
  'storage.k8s.io/v1': [16800, 15],
  'admissionregistration.k8s.io/v1': [16700, 15],
  'apiextensions.k8s.io/v1': [16700, 15],
  'scheduling.k8s.io/v1': [16600, 15],
  'coordination.k8s.io/v1': [16500, 15],
  'node.k8s.io/v1': [16300, 15],
  'discovery.k8s.io/v1': [16200, 15],
  'flowcontrol.apiserver.k8s.io/v1': [16100, 21],
};

export function localAPIServices(): KubeObject[] {
  const seen = new Set<string>();
  const out: KubeObject[] = [];
  for (const r of RESOURCES) {
    const gv = `${r.group}/${r.version}`;
    if (seen.has(gv)) continue;
    seen.add(gv);
    const [groupPriorityMinimum, versionPriority] = PRIORITIES[gv] ?? [1000, 100];
    out.push({
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: r.group ? `${r.version}.${r.group}` : r.version, labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
      spec: { group: r.group, version: r.version, groupPriorityMinimum, versionPriority },
    });
  }
  return out;
}

/** Create the local APIServices that are missing and mark them Available. */
export async function bootstrapLocalAPIServices(client: ApiTransport): Promise<void> {
  // All at once: they share the store's commits.
  await Promise.all(localAPIServices().map((svc) => ensureLocalAPIService(client, svc)));
}

async function ensureLocalAPIService(client: ApiTransport, svc: KubeObject): Promise<void> {
  let cur: KubeObject | undefined;
  try {
    cur = await client.create(APISERVICES, undefined, svc);
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 409)) throw err;
    cur = await client.get(APISERVICES, undefined, svc.metadata!.name!);
  }
  const conds = ((cur.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []) as { type: string; status: string }[];
  if (conds.some((c) => c.type === 'Available' && c.status === 'True')) return;
  const available = { type: 'Available', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: 'Local', message: 'Local APIServices are always available' };
  try {
    await client.updateStatus(APISERVICES, undefined, { ...cur, status: { conditions: [...conds.filter((c) => c.type !== 'Available'), available] } });
  } catch (err) {
    if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
  }
}
