// Acceptance: Deployments, ReplicaSets, StatefulSets and DaemonSets with the real kubectl
// against `kite up`.
//
// Two parts. "controllers" needs only the control plane: objects, names, labels, owner
// references, scaling, revisions, `rollout history|undo|pause|resume`, DaemonSet pods
// for simulated Node objects (created with `kubectl create -f`, made Ready through the
// status subresource). Pods stay Pending there unless a kubelet runs them. "running
// pods" needs a Ready node that runs containers (the kubelet on containerd, image
// `busybox` built locally): `rollout status` completing and OrderedReady progression;
// without a Ready node those tests are skipped, saying why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, KUBECTL_VERSIONS, nodeNameOf, waitFor, waitForQuiet } from './harness.js';

const cluster = new Cluster('workloads');

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface Obj {
  metadata: { name: string; uid: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: OwnerRef[]; creationTimestamp?: string };
  spec?: any;
  status?: any;
}

async function getJSON<T = Obj>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.k([...args, '-o', 'json'])) as T;
}

async function list(kind: string, selector: string, ns = 'default'): Promise<Obj[]> {
  return (await getJSON<{ items: Obj[] }>(['get', kind, '-n', ns, '-l', selector])).items;
}

const names = (objs: Obj[]) => objs.map((o) => o.metadata.name).sort();
const alive = (objs: Obj[]) => objs.filter((o) => !(o.metadata as { deletionTimestamp?: string }).deletionTimestamp);
const revisionOf = (o: Obj) => o.metadata.annotations?.['deployment.kubernetes.io/revision'];
const targetNode = (pod: Obj): string | undefined =>
  pod.spec?.nodeName ?? pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0];

async function apply(name: string, yaml: string): Promise<string> {
  return cluster.k(['apply', '-f', cluster.writeFile(`${name}.yaml`, yaml)]);
}

/** A node that runs pods: Ready, and not one of the simulated nodes made here. */
async function readyNode(): Promise<string | undefined> {
  const nodes = await getJSON<{ items: Obj[] }>(['get', 'nodes']).catch(() => ({ items: [] as Obj[] }));
  const n = nodes.items.find((x) => !x.metadata.labels?.['kite.test/simulated'] && x.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
  return n?.metadata.name;
}

describe('controllers (control plane only)', () => {
  test('kubectl create deployment: a ReplicaSet <name>-<hash> owned by the Deployment, pods owned by the ReplicaSet', async () => {
    await cluster.k(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3']);
    const d = await getJSON(['get', 'deployment', 'web']);
    const [rs] = await waitFor('the ReplicaSet', async () => {
      const l = await list('rs', 'app=web');
      return l.length === 1 && l;
    });
    const hash = rs.metadata.labels!['pod-template-hash'];
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(revisionOf(rs), '1');
    assert.deepEqual(rs.spec.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    const pods = await waitFor('3 pods', async () => {
      const p = await list('pods', 'app=web');
      return p.length === 3 && p;
    });
    for (const p of pods) {
      assert.match(p.metadata.name, new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      assert.equal(p.metadata.labels!['pod-template-hash'], hash);
      assert.equal(p.metadata.labels!.app, 'web');
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${hash}`, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    // The status the table shows: 3 up to date.
    await waitFor('deployment status', async () => /^web\s+\d\/3\s+3\s+\d\s+/m.test(await cluster.k(['get', 'deployment', 'web'])));
    const described = await cluster.k(['describe', 'deployment', 'web']);
    assert.match(described, new RegExp(`NewReplicaSet:\\s+web-${hash} \\(3/3 replicas created\\)`));
    assert.match(described, new RegExp(`ScalingReplicaSet\\s+.*deployment-controller\\s+Scaled up replica set web-${hash} (from 0 )?to 3`));
  });

  test('kubectl scale deployment: the ReplicaSet and the pods follow', async () => {
    assert.match(await cluster.k(['scale', 'deployment', 'web', '--replicas=5']), /deployment.apps\/web scaled/);
    await waitFor('5 pods', async () => alive(await list('pods', 'app=web')).length === 5);
    const [rs] = await list('rs', 'app=web');
    assert.equal(rs.spec.replicas, 5);
    assert.match(await cluster.k(['scale', 'deployment', 'web', '--replicas=2']), /scaled/);
    await waitFor('2 pods', async () => alive(await list('pods', 'app=web')).length === 2);
  });

  test('kubectl set image: a second ReplicaSet; rollout history lists both; rollout undo returns to the first template', async () => {
    assert.match(await cluster.k(['set', 'image', 'deployment/web', 'nginx=nginx:1.26']), /deployment.apps\/web image updated/);
    // The change cause, recorded after the change: the controller copies it to the new ReplicaSet only.
    await cluster.k(['annotate', 'deployment', 'web', 'kubernetes.io/change-cause=move to 1.26']);
    const rsets = await waitFor('two ReplicaSets, the new one annotated', async () => {
      const l = await list('rs', 'app=web');
      return l.length === 2 && l.some((r) => revisionOf(r) === '2' && r.metadata.annotations?.['kubernetes.io/change-cause']) && l;
    });
    const first = rsets.find((r) => revisionOf(r) === '1')!;
    const second = rsets.find((r) => revisionOf(r) === '2')!;
    assert.ok(first && second, JSON.stringify(rsets.map((r) => [r.metadata.name, revisionOf(r)])));
    assert.equal(second.spec.template.spec.containers[0].image, 'nginx:1.26');
    assert.equal(second.metadata.annotations!['kubernetes.io/change-cause'], 'move to 1.26');

    for (const version of KUBECTL_VERSIONS) {
      const h = await cluster.k(['rollout', 'history', 'deployment/web'], { version });
      assert.match(h, /^deployment.apps\/web\s*$/m, version);
      assert.match(h, /^REVISION\s+CHANGE-CAUSE$/m, version);
      assert.match(h, /^1\s+<none>$/m, version);
      assert.match(h, /^2\s+move to 1.26$/m, version);
    }
    assert.match(await cluster.k(['rollout', 'history', 'deployment/web', '--revision=1']), /Image:\s+nginx:1.25/);

    assert.match(await cluster.k(['rollout', 'undo', 'deployment/web']), /deployment.apps\/web rolled back/);
    await waitFor('the template is back', async () => (await getJSON(['get', 'deployment', 'web'])).spec.template.spec.containers[0].image === 'nginx:1.25');
    await waitFor('the first ReplicaSet is revision 3', async () => revisionOf((await list('rs', 'app=web')).find((r) => r.metadata.name === first.metadata.name)!) === '3');
    assert.equal((await list('rs', 'app=web')).length, 2, 'no third ReplicaSet');
    const h = await cluster.k(['rollout', 'history', 'deployment/web']);
    assert.match(h, /^2\s+/m);
    assert.match(h, /^3\s+/m);
    assert.doesNotMatch(h, /^1\s+/m);
    // Undo to an explicit revision.
    assert.match(await cluster.k(['rollout', 'undo', 'deployment/web', '--to-revision=2']), /rolled back/);
    await waitFor('1.26 again', async () => (await getJSON(['get', 'deployment', 'web'])).spec.template.spec.containers[0].image === 'nginx:1.26');
  });

  test('rollout pause stops new ReplicaSets; rollout resume rolls the change out', async () => {
    assert.match(await cluster.k(['rollout', 'pause', 'deployment/web']), /deployment.apps\/web paused/);
    await waitFor('paused observed', async () => {
      const d = await getJSON(['get', 'deployment', 'web']);
      return d.status?.conditions?.some((c: { type: string; reason: string }) => c.type === 'Progressing' && c.reason === 'DeploymentPaused');
    });
    await cluster.k(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']);
    // The controller has handled the new template once it reports that generation observed.
    await waitFor('the new generation observed', async () => {
      const d = await getJSON(['get', 'deployment', 'web']);
      return d.status?.observedGeneration === d.metadata.generation;
    });
    assert.equal((await list('rs', 'app=web')).length, 2, 'paused: no new ReplicaSet');
    assert.match(await cluster.k(['rollout', 'resume', 'deployment/web']), /deployment.apps\/web resumed/);
    await waitFor('a third ReplicaSet', async () => (await list('rs', 'app=web')).some((r) => r.spec.template.spec.containers[0].image === 'nginx:1.27'));
  });

  test('deleting the Deployment deletes its ReplicaSets and pods', async () => {
    await cluster.k(['delete', 'deployment', 'web']);
    await waitFor('ReplicaSets gone', async () => (await list('rs', 'app=web')).length === 0, 60_000);
    await waitFor('pods gone', async () => alive(await list('pods', 'app=web')).length === 0, 60_000);
  });

  test('StatefulSet: pods web-0..2 with stable identity, claims from volumeClaimTemplates, revisions, rollout history and undo', async () => {
    await apply(
      'sts',
      `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: sts-web
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: sts-web
  template:
    metadata:
      labels:
        app: sts-web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        volumeMounts:
        - name: data
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Mi
`,
    );
    const sts = await getJSON(['get', 'statefulset', 'web']);
    const pods = await waitFor('web-0..2', async () => {
      const p = await list('pods', 'app=sts-web');
      return p.length === 3 && p;
    });
    assert.deepEqual(names(pods), ['web-0', 'web-1', 'web-2']);
    const [rev] = await waitFor('a revision', async () => {
      const r = await list('controllerrevisions', 'app=sts-web');
      return r.length === 1 && r;
    });
    assert.equal(rev.metadata.ownerReferences![0].uid, sts.metadata.uid);
    for (const p of pods) {
      const ordinal = p.metadata.name.slice('web-'.length);
      assert.equal(p.spec.hostname, p.metadata.name);
      assert.equal(p.spec.subdomain, 'web');
      assert.equal(p.metadata.labels!['statefulset.kubernetes.io/pod-name'], p.metadata.name);
      assert.equal(p.metadata.labels!['apps.kubernetes.io/pod-index'], ordinal);
      assert.equal(p.metadata.labels!['controller-revision-hash'], rev.metadata.name);
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      const vol = p.spec.volumes.find((v: { name: string }) => v.name === 'data');
      assert.deepEqual(vol, { name: 'data', persistentVolumeClaim: { claimName: `data-web-${ordinal}` } });
    }
    const claims = await list('pvc', 'app=sts-web');
    assert.deepEqual(names(claims), ['data-web-0', 'data-web-1', 'data-web-2']);
    assert.ok(claims.every((c) => !c.metadata.ownerReferences), 'Retain: claims have no owner');
    await waitFor('status', async () => {
      const s = await getJSON(['get', 'statefulset', 'web']);
      return s.status?.replicas === 3 && s.status.observedGeneration === 1 && s.status.updateRevision === rev.metadata.name && s.status.currentRevision === rev.metadata.name;
    });
    assert.match(await cluster.k(['get', 'statefulset', 'web']), /^web\s+0\/3\s+/m);

    assert.match(await cluster.k(['rollout', 'history', 'statefulset/web']), /^1\s+<none>$/m);
    await cluster.k(['set', 'image', 'statefulset/web', 'nginx=nginx:1.26']);
    await waitFor('revision 2', async () => (await list('controllerrevisions', 'app=sts-web')).length === 2);
    for (const version of ['1.27', '1.33'] as const) {
      const h = await cluster.k(['rollout', 'history', 'statefulset/web'], { version });
      assert.match(h, /^statefulset.apps\/web\s*$/m, version);
      assert.match(h, /^1\s+<none>$/m, version);
      assert.match(h, /^2\s+<none>$/m, version);
    }
    assert.match(await cluster.k(['rollout', 'history', 'statefulset/web', '--revision=2']), /Image:\s+nginx:1.26/);
    const updated = await waitFor('updateRevision moved', async () => {
      const s = await getJSON(['get', 'statefulset', 'web']);
      return s.status?.updateRevision !== rev.metadata.name && s.status?.observedGeneration === 2 && s;
    });
    // The highest ordinal is replaced first.
    await waitFor('web-2 at the new revision', async () => (await getJSON(['get', 'pod', 'web-2'])).metadata.labels!['controller-revision-hash'] === updated.status.updateRevision);

    assert.match(await cluster.k(['rollout', 'undo', 'statefulset/web']), /statefulset.apps\/web rolled back/);
    await waitFor('the template is back', async () => (await getJSON(['get', 'statefulset', 'web'])).spec.template.spec.containers[0].image === 'nginx:1.25');
    const revs = await waitFor('revision 1 re-numbered 3', async () => {
      const r = await list('controllerrevisions', 'app=sts-web');
      const first = r.find((x) => x.metadata.name === rev.metadata.name) as Obj & { revision?: number };
      return r.length === 2 && first?.revision === 3 && r;
    });
    assert.equal(revs.length, 2);
    // Undo to the revision that already matches: kubectl skips it.
    assert.match(await cluster.k(['rollout', 'undo', 'statefulset/web', '--to-revision=3']), /skipped rollback \(current template already matches revision 3\)/);
  });

  test('StatefulSet scale: new ordinals appear, the highest go first on scale-down', async () => {
    assert.match(await cluster.k(['scale', 'statefulset', 'web', '--replicas=4']), /statefulset.apps\/web scaled/);
    await waitFor('web-3', async () => names(alive(await list('pods', 'app=sts-web'))).join() === 'web-0,web-1,web-2,web-3');
    await cluster.k(['scale', 'statefulset', 'web', '--replicas=2']);
    await waitFor('web-0, web-1', async () => names(alive(await list('pods', 'app=sts-web'))).join() === 'web-0,web-1', 60_000);
    // Claims are kept (Retain).
    assert.deepEqual(names(await list('pvc', 'app=sts-web')), ['data-web-0', 'data-web-1', 'data-web-2', 'data-web-3']);
  });

  test('StatefulSet OrderedReady: ordered-1 is not made while ordered-0 is not Ready', async () => {
    // Never Ready on its own (no kubelet: Pending; a kubelet: Running, failing its readiness probe).
    await cluster.k(['create', '-f', cluster.writeFile('ordered.yaml', orderedSet('ordered', 'busybox', ['sleep', '3600'], true))]);
    await waitFor('ordered-0', async () => (await list('pods', 'app=ordered')).length === 1);
    // The sync that made ordered-0 decided about ordered-1 too (OrderedReady stops at a pod
    // that is not Ready) and then wrote its status: wait for that status, not for time.
    await waitFor('the StatefulSet status after that sync', async () => {
      const st = await getJSON(['get', 'statefulset', 'ordered']);
      return st.status?.observedGeneration === st.metadata.generation && st.status?.replicas === 1;
    });
    assert.deepEqual(names(await list('pods', 'app=ordered')), ['ordered-0']);
    const s = await getJSON(['get', 'statefulset', 'ordered']);
    assert.equal(s.status.replicas, 1);
    assert.equal(s.status.readyReplicas ?? 0, 0);
  });

  test('DaemonSet: one pod per Node, nodes joining later included; rollout history and undo', async () => {
    const simNode = (name: string) => `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
    kubernetes.io/hostname: ${name}
    kite.test/simulated: "true"
`;
    const markReady = async (name: string) => {
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const patch = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: now, lastTransitionTime: now }] } };
      await cluster.k(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
    };
    await cluster.k(['create', '-f', cluster.writeFile('nodes.yaml', `${simNode('sim-a')}---\n${simNode('sim-b')}`)]);
    await markReady('sim-a');
    await markReady('sim-b');
    assert.match(await cluster.k(['get', 'node', 'sim-a']), /^sim-a\s+Ready\s+/m);
    await apply(
      'ds',
      `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      nodeSelector:
        kite.test/simulated: "true"
      containers:
      - name: agent
        image: nginx:1.25
`,
    );
    const ds = await getJSON(['get', 'daemonset', 'agent']);
    const pods = await waitFor('a pod per simulated node', async () => {
      const p = alive(await list('pods', 'app=agent'));
      return p.length === 2 && p;
    });
    assert.deepEqual(pods.map(targetNode).sort(), ['sim-a', 'sim-b']);
    for (const p of pods) {
      assert.match(p.metadata.name, /^agent-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      assert.ok(p.spec.tolerations.some((x: { key?: string; effect?: string }) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute'));
    }
    await waitFor('DESIRED 2 CURRENT 2', async () => /^agent\s+2\s+2\s+/m.test(await cluster.k(['get', 'daemonset', 'agent'])));

    // A node that joins later gets its pod.
    await cluster.k(['create', '-f', cluster.writeFile('node-c.yaml', simNode('sim-c'))]);
    await markReady('sim-c');
    await waitFor('a pod on sim-c', async () => alive(await list('pods', 'app=agent')).map(targetNode).sort().join() === 'sim-a,sim-b,sim-c');

    // Revisions.
    const [rev1] = await list('controllerrevisions', 'app=agent');
    assert.equal((rev1 as Obj & { revision: number }).revision, 1);
    assert.match(await cluster.k(['rollout', 'history', 'daemonset/agent']), /^1\s+<none>$/m);
    await cluster.k(['set', 'image', 'daemonset/agent', 'agent=nginx:1.26']);
    await waitFor('revision 2', async () => (await list('controllerrevisions', 'app=agent')).length === 2);
    const h = await cluster.k(['rollout', 'history', 'daemonset/agent']);
    assert.match(h, /^daemonset.apps\/agent\s*$/m);
    assert.match(h, /^1\s+<none>$/m);
    assert.match(h, /^2\s+<none>$/m);
    assert.match(await cluster.k(['rollout', 'history', 'daemonset/agent', '--revision=2']), /Image:\s+nginx:1.26/);
    // The pods on the simulated nodes never become available: they are replaced at once.
    await waitFor('pods at the new template', async () => {
      const p = alive(await list('pods', 'app=agent'));
      return p.length === 3 && p.every((x) => x.spec.containers[0].image === 'nginx:1.26');
    }, 60_000);
    assert.match(await cluster.k(['rollout', 'undo', 'daemonset/agent']), /daemonset.apps\/agent rolled back/);
    await waitFor('the template is back', async () => (await getJSON(['get', 'daemonset', 'agent'])).spec.template.spec.containers[0].image === 'nginx:1.25');
    await waitFor('revision 1 re-numbered 3', async () => {
      const r = await list('controllerrevisions', 'app=agent');
      return r.length === 2 && (r.find((x) => x.metadata.name === rev1.metadata.name) as (Obj & { revision?: number }) | undefined)?.revision === 3;
    });
    assert.match(await cluster.k(['rollout', 'undo', 'daemonset/agent', '--to-revision=3']), /skipped rollback \(current template already matches revision 3\)/);

    // A node that goes away takes its (unbound) pod with it.
    await cluster.k(['delete', 'node', 'sim-c']);
    await waitFor('no pod for sim-c', async () => alive(await list('pods', 'app=agent')).map(targetNode).sort().join() === 'sim-a,sim-b', 60_000);
    await waitFor('status', async () => {
      const d = await getJSON(['get', 'daemonset', 'agent']);
      return d.status?.desiredNumberScheduled === 2 && d.status.currentNumberScheduled === 2 && d.status.observedGeneration === d.metadata.generation;
    });
    // The simulated nodes run nothing: take them away before pods that must run are scheduled.
    await cluster.k(['delete', 'daemonset', 'agent']);
    await cluster.k(['delete', 'node', 'sim-a', 'sim-b']);
  });
});

/** A 3-replica OrderedReady StatefulSet; `gated`: Ready only once /tmp/ready exists in the container. */
function orderedSet(name: string, image: string, command?: string[], gated = false): string {
  let cmd = command ? `\n        command: ${JSON.stringify(command)}` : '';
  if (gated) cmd += `\n        readinessProbe:\n          exec:\n            command: [cat, /tmp/ready]\n          periodSeconds: 1`;
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
spec:
  serviceName: ${name}
  replicas: 3
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${image}${cmd}
`;
}

describe('running pods (needs the kubelet)', () => {
  test('Deployment: rollout status completes; a template change rolls out and completes again', { timeout: 300_000 }, async (t) => {
    if (!(await readyNode())) return t.skip('no Ready node: needs the kubelet');
    await cluster.k(['create', 'deployment', 'run', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']);
    const out = await cluster.k(['rollout', 'status', 'deployment/run', '--timeout=180s'], { timeoutMs: 200_000 });
    assert.match(out, /deployment "run" successfully rolled out/);
    const d = await getJSON(['get', 'deployment', 'run']);
    assert.equal(d.status.availableReplicas, 2);
    assert.equal(d.status.updatedReplicas, 2);
    // Same image, another name for it: a new template, a new ReplicaSet.
    await cluster.k(['set', 'image', 'deployment/run', 'busybox=busybox:latest']);
    const again = await cluster.k(['rollout', 'status', 'deployment/run', '--timeout=180s'], { timeoutMs: 200_000 });
    assert.match(again, /deployment "run" successfully rolled out/);
    const rsets = await list('rs', 'app=run');
    assert.equal(rsets.length, 2);
    assert.deepEqual(rsets.map((r) => r.status?.replicas ?? 0).sort(), [0, 2]);
  });

  test('StatefulSet OrderedReady: pods start one after another; rollout status completes', { timeout: 300_000 }, async (t) => {
    if (!(await readyNode())) return t.skip('no Ready node: needs the kubelet');
    await cluster.k(['create', '-f', cluster.writeFile('ord.yaml', orderedSet('ord', 'busybox', ['sleep', '3600']))]);
    const out = await cluster.k(['rollout', 'status', 'statefulset/ord', '--timeout=240s'], { timeoutMs: 260_000 });
    assert.match(out, /partitioned roll out complete: 3 new pods have been updated/);
    const pods = await list('pods', 'app=ord');
    assert.deepEqual(names(pods), ['ord-0', 'ord-1', 'ord-2']);
    const byName = new Map(pods.map((p) => [p.metadata.name, p]));
    const readySince = (p: Obj) => Date.parse(p.status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime);
    for (const [prev, next] of [
      ['ord-0', 'ord-1'],
      ['ord-1', 'ord-2'],
    ]) {
      assert.ok(Date.parse(byName.get(next)!.metadata.creationTimestamp!) >= readySince(byName.get(prev)!), `${next} made after ${prev} was Ready`);
    }
    const s = await getJSON(['get', 'statefulset', 'ord']);
    assert.equal(s.status.readyReplicas, 3);
    assert.equal(s.status.availableReplicas, 3);
    assert.equal(s.status.currentRevision, s.status.updateRevision);

    // A rolling update replaces the pods from the highest ordinal down, each after the previous is Ready.
    await cluster.k(['set', 'image', 'statefulset/ord', 'main=busybox:latest']);
    const rolled = await cluster.k(['rollout', 'status', 'statefulset/ord', '--timeout=240s'], { timeoutMs: 260_000 });
    assert.match(rolled, /partitioned roll out complete: 3 new pods have been updated/);
    const after = new Map((await list('pods', 'app=ord')).map((p) => [p.metadata.name, p]));
    const s2 = await getJSON(['get', 'statefulset', 'ord']);
    for (const p of after.values()) assert.equal(p.metadata.labels!['controller-revision-hash'], s2.status.updateRevision);
    for (const [prev, next] of [
      ['ord-2', 'ord-1'],
      ['ord-1', 'ord-0'],
    ]) {
      assert.ok(Date.parse(after.get(next)!.metadata.creationTimestamp!) >= readySince(after.get(prev)!), `${next} replaced after ${prev} was Ready again`);
    }
    await waitFor('currentRevision = updateRevision', async () => {
      const x = await getJSON(['get', 'statefulset', 'ord']);
      return x.status.currentRevision === x.status.updateRevision && x.status.currentReplicas === 3;
    });
    assert.match(await cluster.k(['rollout', 'undo', 'statefulset/ord']), /rolled back/);
    assert.match(await cluster.k(['rollout', 'status', 'statefulset/ord', '--timeout=240s'], { timeoutMs: 260_000 }), /partitioned roll out complete: 3 new pods have been updated/);
    assert.equal((await getJSON(['get', 'statefulset', 'ord'])).spec.template.spec.containers[0].image, 'busybox');
  });

  test('StatefulSet OrderedReady: each pod is made once its predecessor turns Ready', { timeout: 300_000 }, async (t) => {
    if (!(await readyNode())) return t.skip('no Ready node: needs the kubelet');
    for (const [pod, next] of [
      ['ordered-0', 'ordered-1'],
      ['ordered-1', 'ordered-2'],
    ]) {
      await waitFor(`${pod} running`, async () => (await getJSON(['get', 'pod', pod])).status?.phase === 'Running', 180_000);
      await waitForQuiet(cluster);
      assert.equal((await cluster.kubectl(['get', 'pod', next])).code, 1, `${next} waits for ${pod}`);
      await cluster.k(['exec', pod, '--', 'touch', '/tmp/ready']);
      await waitFor(`${next} made`, async () => (await cluster.kubectl(['get', 'pod', next])).code === 0, 60_000);
    }
    await cluster.k(['exec', 'ordered-2', '--', 'touch', '/tmp/ready']).catch(async () => {
      await waitFor('ordered-2 running', async () => (await getJSON(['get', 'pod', 'ordered-2'])).status?.phase === 'Running', 180_000);
      await cluster.k(['exec', 'ordered-2', '--', 'touch', '/tmp/ready']);
    });
    assert.match(await cluster.k(['rollout', 'status', 'statefulset/ordered', '--timeout=120s'], { timeoutMs: 140_000 }), /partitioned roll out complete: 3 new pods have been updated/);
  });

  test('DaemonSet on the real node: rollout status completes, again after a template change', { timeout: 300_000 }, async (t) => {
    const node = await readyNode();
    if (!node) return t.skip('no Ready node: needs the kubelet');
    assert.equal(node, nodeNameOf(cluster));
    await apply(
      'ds-run',
      `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: runner
spec:
  selector:
    matchLabels:
      app: runner
  template:
    metadata:
      labels:
        app: runner
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector:
        kubernetes.io/hostname: ${node}
      containers:
      - name: main
        image: busybox
        command: [sleep, "3600"]
`,
    );
    assert.match(await cluster.k(['rollout', 'status', 'daemonset/runner', '--timeout=180s'], { timeoutMs: 200_000 }), /daemon set "runner" successfully rolled out/);
    await cluster.k(['set', 'image', 'daemonset/runner', 'main=busybox:latest']);
    assert.match(await cluster.k(['rollout', 'status', 'daemonset/runner', '--timeout=180s'], { timeoutMs: 200_000 }), /daemon set "runner" successfully rolled out/);
    const ds = await getJSON(['get', 'daemonset', 'runner']);
    assert.equal(ds.status.numberAvailable, 1);
    assert.equal(ds.status.updatedNumberScheduled, 1);
    const [pod] = alive(await list('pods', 'app=runner'));
    assert.equal(pod.spec.nodeName, node, 'bound by the scheduler');
  });
});
