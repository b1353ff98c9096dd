// Acceptance: cluster housekeeping with the real kubectl against `kite up` — the garbage
// collector (`kubectl delete --cascade=background|foreground|orphan`), namespace
// deletion (`kubectl wait --for=delete ns/X`), the `default` ServiceAccount, PodDisruption
// Budget status, `kubectl drain` through the eviction subresource, and the node
// lifecycle controller (a node whose Lease stops being renewed goes NotReady and is
// tainted; its pods are evicted when their tolerationSeconds run out).
//
// No kubelet runs (KITE_NODE=none): nodes are simulated — created with `kubectl create`,
// their status posted with `kubectl patch --subresource=status`, their Leases renewed by
// this test — and pods are bound to them with spec.nodeName. Without a kubelet a pod
// deleted gracefully stays Terminating (as upstream: the kubelet confirms the deletion),
// so drains that must finish use --grace-period=0 (the API server then deletes at once)
// and --force (the pods have no controller).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpTransport, loadKubeconfig } from '../../client/http-transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import { Cluster, waitFor, waitForQuiet } from './harness.js';

/** Seconds of Lease silence after which a node is Unknown (upstream default 40). */
const GRACE_SECONDS = 6;
const cluster = new Cluster('housekeeping', { KITE_NODE: 'none', KITE_NODE_MONITOR_GRACE_SECONDS: String(GRACE_SECONDS) });
const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;
const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

/** The simulated kubelets' heartbeats: Lease renewals over the API. */
let heartbeatClient: HttpTransport | undefined;
const heartbeats = new Map<string, NodeJS.Timeout>();

before(async () => {
  await cluster.up();
  heartbeatClient = new HttpTransport(loadKubeconfig(cluster.kubeconfig), { component: 'e2e-kubelet' });
});

after(async () => {
  for (const t of heartbeats.values()) clearInterval(t);
  heartbeatClient?.close();
  await cluster.down();
});

// ---- helpers ---------------------------------------------------------------------------

interface Meta {
  name: string;
  uid: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: { kind: string; name: string; uid: string; blockOwnerDeletion?: boolean }[];
}

async function getJSON<T = any>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.k([...args, '-o', 'json'])) as T;
}

/** The object, or undefined when kubectl says NotFound. */
async function tryGetJSON<T = any>(args: string[]): Promise<T | undefined> {
  const r = await cluster.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

async function create(yaml: string): Promise<string> {
  return cluster.k(['create', '-f', '-'], { stdin: yaml });
}

async function uidOf(kind: string, name: string, ns = 'default'): Promise<string> {
  return cluster.k(['get', kind, name, '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
}

function ownedConfigMap(name: string, owner: { name: string; uid: string }, opts: { block?: boolean; finalizers?: string[] } = {}): string {
  const ref = `{apiVersion: v1, kind: ConfigMap, name: ${owner.name}, uid: ${owner.uid}${opts.block ? ', blockOwnerDeletion: true' : ''}}`;
  const fin = opts.finalizers ? `\n  finalizers: [${opts.finalizers.join(', ')}]` : '';
  return `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  ownerReferences: [${ref}]${fin}\ndata: {k: v}\n`;
}

async function cmOwner(name: string): Promise<{ name: string; uid: string }> {
  await cluster.k(['create', 'configmap', name, '--from-literal=k=v']);
  return { name, uid: await uidOf('configmap', name) };
}

function rfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function microTime(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

/** A simulated node: the Node, its Lease, and Ready=True posted through the status subresource. */
async function createNode(name: string): Promise<void> {
  await create(
    `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n  labels: {kubernetes.io/hostname: ${name}}\n---\n` +
      `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: ${name}, namespace: kube-node-lease}\nspec: {holderIdentity: ${name}, leaseDurationSeconds: 40, renewTime: "${microTime()}"}\n`,
  );
  const now = rfc3339();
  const status = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated kubelet', lastHeartbeatTime: now, lastTransitionTime: now }] } };
  await cluster.k(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

/** Renew the node's Lease every 2 s (a live kubelet). */
function startHeartbeat(name: string): void {
  if (heartbeats.has(name)) return;
  const t = setInterval(() => {
    void heartbeatClient!.patch(LEASES, 'kube-node-lease', name, 'merge', { spec: { renewTime: microTime() } }).catch(() => undefined);
  }, 2000);
  heartbeats.set(name, t);
}

/** A bare pod bound to `node`, Running and Ready as its kubelet would report it. */
async function runningPod(name: string, node: string, labels: Record<string, string> = {}, tolerations?: unknown[]): Promise<void> {
  const spec: Record<string, unknown> = { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] };
  if (tolerations) spec.tolerations = tolerations;
  await create(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec }));
  const status = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339() }] } };
  await cluster.k(['patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

interface PdbStatus {
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
  expectedPods: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string }[];
}

async function waitPdb(name: string, want: Partial<PdbStatus>): Promise<PdbStatus> {
  let last: PdbStatus | undefined;
  try {
    return await waitFor(`pdb ${name} ${JSON.stringify(want)}`, async () => {
      const pdb = await getJSON<{ metadata: { generation: number }; status?: PdbStatus }>(['get', 'pdb', name]);
      last = pdb.status;
      if (!last || last.observedGeneration !== pdb.metadata.generation) return undefined;
      return Object.entries(want).every(([k, v]) => (last as unknown as Record<string, unknown>)[k] === v) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}`, { cause: err });
  }
}

// ---- garbage collector ---------------------------------------------------------------------

describe('garbage collector: kubectl delete --cascade', () => {
  test('background (the default): the dependents of a deleted ConfigMap go, and theirs in turn', async () => {
    const owner = await cmOwner('bg-owner');
    await create(ownedConfigMap('bg-dep-1', owner) + ownedConfigMap('bg-dep-2', owner));
    const dep1 = { name: 'bg-dep-1', uid: await uidOf('configmap', 'bg-dep-1') };
    await create(ownedConfigMap('bg-grandchild', dep1));
    // Dependents of a live owner are left alone. The collector has caught up once a
    // later-made dependent of a deleted owner is gone (its graph changes are handled in order).
    const sentinel = await cmOwner('bg-sentinel');
    await create(ownedConfigMap('bg-sentinel-dep', sentinel));
    await cluster.k(['delete', 'configmap', 'bg-sentinel', '--cascade=background']);
    await waitFor('the collector caught up', async () => !(await tryGetJSON(['get', 'configmap', 'bg-sentinel-dep'])), 30_000);
    assert.ok(await tryGetJSON(['get', 'configmap', 'bg-dep-1']));

    const out = await cluster.k(['delete', 'configmap', 'bg-owner', '--cascade=background']);
    assert.match(out, /configmap "bg-owner" deleted/);
    for (const name of ['bg-dep-1', 'bg-dep-2', 'bg-grandchild']) {
      await waitFor(`${name} collected`, async () => (await tryGetJSON(['get', 'configmap', name])) === undefined);
    }
  });

  test('foreground: the owner waits, with the foregroundDeletion finalizer, until blocking dependents are gone', async () => {
    const owner = await cmOwner('fg-owner');
    await create(ownedConfigMap('fg-blocker', owner, { block: true, finalizers: ['example.com/hold'] }) + ownedConfigMap('fg-other', owner));
    await cluster.k(['delete', 'configmap', 'fg-owner', '--cascade=foreground', '--wait=false']);

    // The collector deletes every dependent; the blocking one is held by its own finalizer.
    const blocker = await waitFor('fg-blocker being deleted', async () => {
      const cm = await tryGetJSON<{ metadata: Meta }>(['get', 'configmap', 'fg-blocker']);
      return cm?.metadata.deletionTimestamp ? cm : undefined;
    });
    assert.deepEqual(blocker.metadata.finalizers, ['example.com/hold']);
    await waitFor('fg-other collected', async () => (await tryGetJSON(['get', 'configmap', 'fg-other'])) === undefined);
    const waiting = await getJSON<{ metadata: Meta }>(['get', 'configmap', 'fg-owner']);
    assert.ok(waiting.metadata.deletionTimestamp, 'the owner is being deleted');
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);
    const blocked = await cluster.kubectl(['wait', '--for=delete', 'configmap/fg-owner', '--timeout=3s']);
    assert.notEqual(blocked.code, 0, 'the owner stays while a blocking dependent exists');

    // Release the dependent: it goes, then the owner.
    await cluster.k(['patch', 'configmap', 'fg-blocker', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const r = await cluster.kubectl(['wait', '--for=delete', 'configmap/fg-owner', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await tryGetJSON(['get', 'configmap', 'fg-blocker']), undefined);
  });

  test('orphan: the dependents stay, without the ownerReference (kubectl 1.27)', async () => {
    const owner = await cmOwner('or-owner');
    await create(ownedConfigMap('or-dep', owner, { block: true }));
    const r = await cluster.kubectl(['delete', 'configmap', 'or-owner', '--cascade=orphan'], { version: '1.27' });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('or-owner gone', async () => (await tryGetJSON(['get', 'configmap', 'or-owner'])) === undefined);
    const dep = await getJSON<{ metadata: Meta }>(['get', 'configmap', 'or-dep']);
    assert.equal(dep.metadata.ownerReferences, undefined);
    await waitForQuiet(cluster);
    assert.ok(await tryGetJSON(['get', 'configmap', 'or-dep']), 'not collected later either');
  });

  test('a ReplicaSet and its pods: orphan, adoption, foreground, background', async () => {
    const rs = `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: gc-web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: gc-web}}\n  template:\n    metadata: {labels: {app: gc-web}}\n    spec: {containers: [{name: c, image: busybox}]}\n`;
    const pods = async () => (await getJSON<{ items: { metadata: Meta }[] }>(['get', 'pods', '-l', 'app=gc-web'])).items;
    await create(rs);
    const first = await waitFor('2 pods', async () => {
      const p = await pods();
      return p.length === 2 && p;
    });
    for (const p of first) {
      assert.deepEqual(
        p.metadata.ownerReferences!.map((o) => [o.kind, o.name, o.blockOwnerDeletion]),
        [['ReplicaSet', 'gc-web', true]],
      );
    }

    // Orphan: the pods stay, without an owner.
    await cluster.k(['delete', 'rs', 'gc-web', '--cascade=orphan']);
    const orphans = await waitFor('pods orphaned', async () => {
      const p = await pods();
      return p.length === 2 && p.every((x) => !x.metadata.ownerReferences) && p;
    });
    assert.deepEqual(orphans.map((p) => p.metadata.uid).sort(), first.map((p) => p.metadata.uid).sort(), 'the same pods');

    // A new ReplicaSet with the same selector adopts them; foreground deletion returns once they are gone.
    await create(rs);
    await waitFor('pods adopted', async () => {
      const p = await pods();
      return p.length === 2 && p.every((x) => x.metadata.ownerReferences?.[0]?.name === 'gc-web') && p;
    });
    const fg = await cluster.kubectl(['delete', 'rs', 'gc-web', '--cascade=foreground', '--timeout=60s']);
    assert.equal(fg.code, 0, fg.stderr);
    assert.deepEqual(await pods(), [], 'foreground: the pods went before the ReplicaSet');

    // Background: the ReplicaSet goes at once, the pods after.
    await create(rs);
    await waitFor('2 pods again', async () => (await pods()).length === 2);
    await cluster.k(['delete', 'rs', 'gc-web']);
    await waitFor('pods collected', async () => (await pods()).length === 0);
  });
});

// ---- namespaces and service accounts ---------------------------------------------------------

describe('namespaces', () => {
  test('every new namespace gets a default ServiceAccount, made again when deleted', async () => {
    await cluster.k(['create', 'namespace', 'hk-fresh']);
    const first = await waitFor('default ServiceAccount', async () => tryGetJSON<{ metadata: Meta }>(['get', 'serviceaccount', 'default', '-n', 'hk-fresh']));
    await cluster.k(['delete', 'serviceaccount', 'default', '-n', 'hk-fresh']);
    const again = await waitFor('default ServiceAccount again', async () => {
      const sa = await tryGetJSON<{ metadata: Meta }>(['get', 'serviceaccount', 'default', '-n', 'hk-fresh']);
      return sa && sa.metadata.uid !== first.metadata.uid ? sa : undefined;
    });
    assert.ok(again.metadata.uid);
    const table = await cluster.k(['get', 'serviceaccounts', '-n', 'hk-fresh']);
    assert.match(table, /^default\s+0\s+\S+$/m);
  });

  test('deleting a namespace: Terminating, emptied, conditions while content remains, then gone (kubectl wait --for=delete)', async () => {
    await cluster.k(['create', 'namespace', 'hk-doomed']);
    await cluster.k(['create', 'configmap', 'plain', '-n', 'hk-doomed', '--from-literal=k=v']);
    await create(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: hk-doomed, finalizers: [example.com/hold]}\n---\n` +
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: hk-doomed}\nspec: {containers: [{name: c, image: busybox}]}\n`,
    );
    await cluster.k(['delete', 'namespace', 'hk-doomed', '--wait=false']);
    const table = await cluster.k(['get', 'namespace', 'hk-doomed']);
    assert.match(table, /^hk-doomed\s+Terminating\s+/m);

    interface NsJson {
      spec: { finalizers?: string[] };
      status: { phase: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
    }
    const ns = await waitFor('content conditions', async () => {
      const n = await getJSON<NsJson>(['get', 'namespace', 'hk-doomed']);
      return n.status.conditions?.some((c) => c.type === 'NamespaceFinalizersRemaining' && c.status === 'True') ? n : undefined;
    });
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    const cond = (type: string) => ns.status.conditions!.find((c) => c.type === type)!;
    assert.equal(cond('NamespaceFinalizersRemaining').reason, 'SomeFinalizersRemain');
    assert.equal(cond('NamespaceFinalizersRemaining').message, 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
    assert.equal(cond('NamespaceContentRemaining').reason, 'SomeResourcesRemain');
    assert.match(cond('NamespaceContentRemaining').message, /^Some resources are remaining: configmaps\. has 1 resource instances/);
    assert.equal(cond('NamespaceDeletionContentFailure').status, 'False');
    // Everything else is already gone; nothing new may be created.
    assert.equal(await tryGetJSON(['get', 'pod', 'p', '-n', 'hk-doomed']), undefined);
    assert.equal(await tryGetJSON(['get', 'configmap', 'plain', '-n', 'hk-doomed']), undefined);
    const refused = await cluster.kubectl(['create', 'configmap', 'late', '-n', 'hk-doomed']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unable to create new content in namespace hk-doomed because it is being terminated/);

    await cluster.k(['patch', 'configmap', 'held', '-n', 'hk-doomed', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const r = await cluster.kubectl(['wait', '--for=delete', 'namespace/hk-doomed', '--timeout=60s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await tryGetJSON(['get', 'namespace', 'hk-doomed']), undefined);
  });
});

describe('disruption budgets', () => {
  test('PDB status with percentages of a ReplicaSet scale (maxUnavailable and minAvailable)', async () => {
    // No node exists yet: the ReplicaSet's pods stay Pending (and are deleted at once later).
    await create(`apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: pct}\nspec:\n  replicas: 4\n  selector: {matchLabels: {app: pct}}\n  template:\n    metadata: {labels: {app: pct}}\n    spec: {containers: [{name: c, image: busybox}]}\n`);
    await cluster.k(['create', 'pdb', 'pct-max', '--selector=app=pct', '--max-unavailable=25%']);
    // No pod is Ready (no kubelet): expected comes from the scale, healthy is 0.
    await waitPdb('pct-max', { expectedPods: 4, desiredHealthy: 3, currentHealthy: 0, disruptionsAllowed: 0 });
    await cluster.k(['patch', 'pdb', 'pct-max', '--type=merge', '-p', '{"spec":{"maxUnavailable":"50%"}}']);
    await waitPdb('pct-max', { expectedPods: 4, desiredHealthy: 2, currentHealthy: 0, disruptionsAllowed: 0 });
    await cluster.k(['scale', 'rs', 'pct', '--replicas=6']);
    await waitPdb('pct-max', { expectedPods: 6, desiredHealthy: 3 });
    assert.match(await cluster.k(['get', 'pdb', 'pct-max']), /^pct-max\s+N\/A\s+50%\s+0\s+\S+$/m);
    await cluster.k(['create', 'pdb', 'pct-min', '--selector=app=pct', '--min-available=34%']);
    // ceil(34% of 6) = 3 (rounded up, as upstream).
    await waitPdb('pct-min', { expectedPods: 6, desiredHealthy: 3, currentHealthy: 0, disruptionsAllowed: 0 });
    await cluster.k(['delete', 'pdb', 'pct-max', 'pct-min']);
    await cluster.k(['delete', 'rs', 'pct', '--cascade=foreground']);
    assert.equal((await getJSON<{ items: unknown[] }>(['get', 'pods', '-l', 'app=pct'])).items.length, 0);
  });
});

// ---- disruption budgets, drain, node lifecycle ------------------------------------------------------

describe('nodes: PodDisruptionBudgets, drain, lost nodes', () => {
  before(async () => {
    for (const n of ['hk-worker-1', 'hk-worker-2']) {
      await createNode(n);
      startHeartbeat(n);
    }
  });

  test('PDB status; kubectl drain refuses while the budget allows no disruption, and proceeds when it does', async () => {
    await runningPod('g1', 'hk-worker-1', { app: 'guarded' });
    await runningPod('g2', 'hk-worker-1', { app: 'guarded' });
    await runningPod('g3', 'hk-worker-2', { app: 'guarded' });
    await cluster.k(['create', 'pdb', 'guarded', '--selector=app=guarded', '--min-available=3']);
    const st = await waitPdb('guarded', { expectedPods: 3, desiredHealthy: 3, currentHealthy: 3, disruptionsAllowed: 0 });
    assert.deepEqual(
      st.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['DisruptionAllowed', 'False', 'InsufficientPods']],
    );
    assert.match(await cluster.k(['get', 'pdb', 'guarded']), /^guarded\s+3\s+N\/A\s+0\s+\S+$/m);

    // The eviction is refused with 429: drain keeps retrying every 5 s until its timeout.
    const refused = await cluster.kubectl(['drain', 'hk-worker-1', '--force', '--grace-period=0', '--timeout=8s'], { timeoutMs: 60_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /node\/hk-worker-1 cordoned/);
    assert.match(refused.stderr, /error when evicting pods\/"g[12]" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);
    assert.ok(refused.stderr.includes(VIOLATION));
    for (const p of ['g1', 'g2']) assert.ok(await tryGetJSON(['get', 'pod', p]), `${p} is still there`);
    const cordoned = await getJSON<{ spec: { unschedulable?: boolean; taints?: { key: string; effect: string }[] } }>(['get', 'node', 'hk-worker-1']);
    assert.equal(cordoned.spec.unschedulable, true);
    await waitFor('unschedulable taint', async () => {
      const n = await getJSON<{ spec: { taints?: { key: string; effect: string }[] } }>(['get', 'node', 'hk-worker-1']);
      return n.spec.taints?.some((t) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule');
    });

    // minAvailable 1 of 3 healthy: two disruptions allowed, the drain goes through.
    await cluster.k(['patch', 'pdb', 'guarded', '--type=merge', '-p', '{"spec":{"minAvailable":1}}']);
    await waitPdb('guarded', { desiredHealthy: 1, currentHealthy: 3, disruptionsAllowed: 2 });
    // A server-side dry run is approved and changes nothing.
    const dry = await cluster.kubectl(['drain', 'hk-worker-1', '--force', '--grace-period=0', '--dry-run=server', '--timeout=30s'], { timeoutMs: 60_000 });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /evicting pod default\/g1 \(server dry run\)/);
    assert.match(dry.stdout, /node\/hk-worker-1 drained \(server dry run\)/);
    for (const p of ['g1', 'g2']) assert.equal((await getJSON<{ metadata: Meta }>(['get', 'pod', p])).metadata.deletionTimestamp, undefined);
    await waitPdb('guarded', { disruptionsAllowed: 2 });
    const drained = await cluster.kubectl(['drain', 'hk-worker-1', '--force', '--grace-period=0', '--timeout=60s'], { timeoutMs: 90_000 });
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /evicting pod default\/g1/);
    assert.match(drained.stdout, /pod\/g1 evicted/);
    assert.match(drained.stdout, /pod\/g2 evicted/);
    assert.match(drained.stdout, /node\/hk-worker-1 drained/);
    assert.match(drained.stderr, /Warning: deleting Pods that declare no controller: default\/g1, default\/g2/);
    for (const p of ['g1', 'g2']) assert.equal(await tryGetJSON(['get', 'pod', p]), undefined);
    await waitPdb('guarded', { expectedPods: 1, desiredHealthy: 1, currentHealthy: 1, disruptionsAllowed: 0 });

    // kubectl 1.27 is refused the same way on the other node; --disable-eviction deletes regardless of budgets.
    const old = await cluster.kubectl(['drain', 'hk-worker-2', '--force', '--grace-period=0', '--timeout=6s'], { version: '1.27', timeoutMs: 60_000 });
    assert.notEqual(old.code, 0);
    assert.ok(old.stderr.includes(VIOLATION), old.stderr);
    const forced = await cluster.kubectl(['drain', 'hk-worker-2', '--force', '--disable-eviction', '--grace-period=0', '--timeout=30s'], { timeoutMs: 60_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /pod\/g3 deleted/);
    assert.equal(await tryGetJSON(['get', 'pod', 'g3']), undefined);

    // Without --grace-period=0 an evicted pod waits for its kubelet (none here): drain times out waiting.
    await cluster.k(['uncordon', 'hk-worker-2']);
    await runningPod('g4', 'hk-worker-2');
    const waits = await cluster.kubectl(['drain', 'hk-worker-2', '--force', '--timeout=5s'], { timeoutMs: 60_000 });
    assert.notEqual(waits.code, 0);
    assert.match(waits.stdout, /evicting pod default\/g4/);
    assert.match(waits.stderr, /error when waiting for pod "g4" in namespace "default" to terminate/);
    const g4 = await getJSON<{ metadata: Meta }>(['get', 'pod', 'g4']);
    assert.ok(g4.metadata.deletionTimestamp, 'Terminating');
    await cluster.k(['delete', 'pod', 'g4', '--grace-period=0', '--force']);
    await cluster.k(['uncordon', 'hk-worker-1', 'hk-worker-2']);
    await cluster.k(['delete', 'pdb', 'guarded']);
  });

  test('a node whose Lease stops being renewed goes NotReady (Unknown) and is tainted; pods go when their tolerationSeconds run out', async () => {
    await createNode('hk-lost');
    // Pods get the 300 s not-ready/unreachable tolerations by admission, unless they bring their own.
    await runningPod('stays', 'hk-lost');
    await runningPod('short', 'hk-lost', {}, [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]);
    const stays = await getJSON<{ spec: { tolerations: unknown[] } }>(['get', 'pod', 'stays']);
    assert.deepEqual(stays.spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);

    // No heartbeat for hk-lost (hk-worker-* keep theirs, so this is no full disruption).
    interface NodeJson {
      spec: { taints?: { key: string; effect: string; timeAdded?: string }[] };
      status: { conditions: { type: string; status: string; reason: string; message: string }[] };
    }
    const lost = await waitFor(
      'hk-lost Unknown',
      async () => {
        const n = await getJSON<NodeJson>(['get', 'node', 'hk-lost']);
        return n.status.conditions.find((c) => c.type === 'Ready')?.status === 'Unknown' ? n : undefined;
      },
      (GRACE_SECONDS + 30) * 1000,
    );
    const readyCond = lost.status.conditions.find((c) => c.type === 'Ready')!;
    assert.equal(readyCond.reason, 'NodeStatusUnknown');
    assert.equal(readyCond.message, 'Kubelet stopped posting node status.');
    assert.match(await cluster.k(['get', 'node', 'hk-lost']), /^hk-lost\s+NotReady\s+/m);

    const tainted = await waitFor(
      'unreachable taints',
      async () => {
        const n = await getJSON<NodeJson>(['get', 'node', 'hk-lost']);
        const keys = (n.spec.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
        return keys.length === 2 ? n : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      tainted.spec.taints!.map((t) => `${t.key}:${t.effect}`).sort(),
      ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule'],
    );
    for (const n of ['hk-worker-1', 'hk-worker-2']) {
      const w = await getJSON<NodeJson>(['get', 'node', n]);
      assert.equal(w.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', `${n} stays Ready`);
    }

    // The pods on it are marked not ready; the 2 s toleration runs out, the 300 s one does not.
    interface PodJson {
      metadata: Meta;
      status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
    }
    await waitFor('stays not ready', async () => {
      const p = await getJSON<PodJson>(['get', 'pod', 'stays']);
      return p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'False';
    });
    const short = await waitFor('short evicted', async () => {
      const p = await tryGetJSON<PodJson>(['get', 'pod', 'short']);
      return p === undefined || p.metadata.deletionTimestamp ? (p ?? ({} as PodJson)) : undefined;
    }, 30_000);
    if (short.metadata) {
      const dt = short.status.conditions?.find((c) => c.type === 'DisruptionTarget');
      assert.equal(dt?.reason, 'DeletionByTaintManager');
      assert.equal(dt?.message, 'Taint manager: deleting due to NoExecute taint');
    }
    const described = await waitFor('events on describe', async () => {
      const d = await cluster.k(['describe', 'node', 'hk-lost']);
      return d.includes('NodeNotReady') && d;
    });
    assert.match(described, /Node hk-lost status is now: NodeNotReady/);
    const stillThere = await getJSON<PodJson>(['get', 'pod', 'stays']);
    assert.equal(stillThere.metadata.deletionTimestamp, undefined, 'tolerates unreachable for 300 s');

    // The kubelet comes back: Ready again, the NoExecute and NoSchedule taints go.
    startHeartbeat('hk-lost');
    const now = rfc3339();
    await cluster.k(['patch', 'node', 'hk-lost', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'back', lastHeartbeatTime: now, lastTransitionTime: now }] } })]);
    await waitFor('taints removed', async () => {
      const n = await getJSON<NodeJson>(['get', 'node', 'hk-lost']);
      return (n.spec.taints ?? []).length === 0;
    }, 30_000);
    assert.match(await cluster.k(['get', 'node', 'hk-lost']), /^hk-lost\s+Ready\s+/m);
  });
});
