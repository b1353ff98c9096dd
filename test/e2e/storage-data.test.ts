// Acceptance: data that outlives its pods, on a `kite up` cluster with this host's node
// (a real kubelet and containerd; the locally built `busybox` image).
//   - a pod writes to a claim of the default class, is deleted, a new pod reads it back;
//   - a StatefulSet's data-web-N claims keep each replica's data across pod deletion
//     and scale down / up.
// Data is checked where it lives too: the local-path volume's directory on this host.
//
// Needs the kubelet to mount claims (it calls kubelet/volumes-pvc.ts resolveClaimVolume
// for persistentVolumeClaim and ephemeral volumes). Skipped, saying why, when this host
// runs no node (not root, KITE_NODE=none) or when the kubelet reports that it doesn't
// mount claims yet. Pods are put on the node by name, so no scheduler is needed; the
// StatefulSet test needs the StatefulSet controller.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, waitFor } from './harness.js';

const cluster = new Cluster('storage-data');
let node: string | undefined;
let noNode = '';

class Unsupported extends Error {}

before(async () => {
  if (process.env.KITE_NODE === 'none' || process.env.KITE_NODE === 'off') noNode = 'KITE_NODE=none';
  else if (typeof process.getuid === 'function' && process.getuid() !== 0) noNode = 'not root: this host runs no node';
  await cluster.up();
  if (noNode) return;
  try {
    node = await waitFor(
      'a Ready node',
      async () => {
        const list = JSON.parse(await cluster.k(['get', 'nodes', '-o', 'json']));
        const ready = list.items.find((n: any) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
        return ready?.metadata?.name as string | undefined;
      },
      180_000,
      1000,
    );
  } catch (err) {
    noNode = `no Ready node: ${(err as Error).message}`;
  }
});

after(async () => {
  await cluster.down();
});

function needNode(t: TestContext): boolean {
  if (node) return true;
  t.skip(noNode || 'no node');
  return false;
}

/** FailedMount events that say the kubelet doesn't mount claims at all (yet). */
async function claimsUnsupported(pod: string): Promise<string | undefined> {
  const r = await cluster.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${pod},reason=FailedMount`, '-o', 'jsonpath={.items[*].message}']);
  const m = r.stdout.trim();
  return /not supported by kite/.test(m) ? m : undefined;
}

async function waitPod(name: string, what: string, pred: (p: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  for (;;) {
    const r = await cluster.kubectl(['get', 'pod', name, '-o', 'json']);
    last = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    if (last && pred(last)) return last;
    const unsupported = await claimsUnsupported(name);
    if (unsupported) throw new Unsupported(`the kubelet does not mount claims yet: ${unsupported}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for pod ${name} ${what}\nlast status: ${JSON.stringify(last?.status ?? null)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function claimPath(claim: string): Promise<string> {
  const volume = await waitFor(`claim ${claim} bound`, async () => {
    const r = await cluster.kubectl(['get', 'pvc', claim, '-o', 'jsonpath={.status.phase} {.spec.volumeName}']);
    const [phase, name] = r.stdout.trim().split(' ');
    return phase === 'Bound' ? name : undefined;
  });
  return (await cluster.k(['get', 'pv', volume, '-o', 'jsonpath={.spec.hostPath.path}'])).trim();
}

const onePod = (name: string, claim: string, script: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${node}
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, '${script}']
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: ${claim}
`;

test('a pod writes to a claim, is deleted, and a new pod reads the data back', async (t) => {
  if (!needNode(t)) return;
  await cluster.k(['apply', '-f', '-'], {
    stdin: `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
`,
  });
  await cluster.k(['apply', '-f', '-'], { stdin: onePod('writer', 'notes', 'echo kept-across-pods > /data/msg && sync') });
  try {
    await waitPod('writer', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  } catch (err) {
    if (err instanceof Unsupported) return t.skip(err.message);
    throw err;
  }
  const path = await claimPath('notes');
  assert.equal(readFileSync(join(path, 'msg'), 'utf8'), 'kept-across-pods\n', 'written into the local-path directory');
  await cluster.k(['delete', 'pod', 'writer', '--wait=true']);

  await cluster.k(['apply', '-f', '-'], { stdin: onePod('reader', 'notes', 'test "$(cat /data/msg)" = kept-across-pods') });
  const reader = await waitPod('reader', 'finished', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
  assert.equal(reader.status.phase, 'Succeeded', 'the new pod read the data the old one wrote');
  const logs = await cluster.kubectl(['logs', 'reader']);
  assert.equal(logs.code, 0, logs.stderr);

  // The claim goes after its pods: Delete removes the data.
  await cluster.k(['delete', 'pod', 'reader', '--wait=true']);
  await cluster.k(['delete', 'pvc', 'notes', '--wait=true'], { timeoutMs: 60_000 });
  await waitFor('data removed', () => !existsSync(path), 30_000);
});

test('StatefulSet volumeClaimTemplates: each replica keeps its data across pod deletion and scale down/up', async (t) => {
  if (!needNode(t)) return;
  await cluster.k(['apply', '-f', '-'], {
    stdin: `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      nodeName: ${node}
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'test -f /data/id || echo "$(hostname) $RANDOM$RANDOM" > /data/id; exec sleep 3600']
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
          storage: 64Mi
`,
  });
  try {
    await waitFor('StatefulSet controller creates web-0', async () => (await cluster.kubectl(['get', 'pod', 'web-0'])).code === 0, 60_000);
  } catch {
    return t.skip('the StatefulSet controller made no pods');
  }
  const running = (p: any) => p.status?.phase === 'Running' && (p.status?.containerStatuses ?? []).every((c: any) => c.ready);
  try {
    await waitPod('web-0', 'Running', running);
    await waitPod('web-1', 'Running', running);
  } catch (err) {
    if (err instanceof Unsupported) return t.skip(err.message);
    throw err;
  }
  const path0 = await claimPath('data-web-0');
  const path1 = await claimPath('data-web-1');
  assert.notEqual(path0, path1);
  const id0 = await waitFor('web-0 wrote its id', () => (existsSync(join(path0, 'id')) ? readFileSync(join(path0, 'id'), 'utf8') : undefined));
  const id1 = await waitFor('web-1 wrote its id', () => (existsSync(join(path1, 'id')) ? readFileSync(join(path1, 'id'), 'utf8') : undefined));
  assert.match(id0, /^web-0 \d+\n$/);
  assert.match(id1, /^web-1 \d+\n$/);

  // A deleted replica comes back to the same claim and finds its data.
  const uid0 = (await cluster.k(['get', 'pod', 'web-0', '-o', 'jsonpath={.metadata.uid}'])).trim();
  await cluster.k(['delete', 'pod', 'web-0', '--wait=true'], { timeoutMs: 60_000 });
  await waitPod('web-0', 'back and Running', (p) => p.metadata.uid !== uid0 && running(p));
  assert.equal(await claimPath('data-web-0'), path0, 'same volume');
  assert.equal(readFileSync(join(path0, 'id'), 'utf8'), id0, 'same data');

  // Scale down: the claim stays (whenScaled: Retain); scale up: the replica gets it back.
  await cluster.k(['scale', 'statefulset', 'web', '--replicas=1']);
  await waitFor('web-1 gone', async () => (await cluster.kubectl(['get', 'pod', 'web-1'])).stderr.includes('not found'), 60_000);
  assert.equal((await cluster.k(['get', 'pvc', 'data-web-1', '-o', 'jsonpath={.status.phase}'])).trim(), 'Bound');
  await cluster.k(['scale', 'statefulset', 'web', '--replicas=2']);
  await waitPod('web-1', 'Running again', running);
  assert.equal(await claimPath('data-web-1'), path1);
  assert.equal(readFileSync(join(path1, 'id'), 'utf8'), id1);

  // Deleting the StatefulSet keeps the claims (whenDeleted: Retain).
  await cluster.k(['delete', 'statefulset', 'web', '--wait=true'], { timeoutMs: 60_000 });
  await waitFor('pods gone', async () => (await cluster.k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim() === '', 60_000);
  const claims = (await cluster.k(['get', 'pvc', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(' ');
  assert.ok(claims.includes('data-web-0') && claims.includes('data-web-1'), claims.join(','));
});
