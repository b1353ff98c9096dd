// Acceptance: storage with the real kubectl on a `kite up` cluster — the default
// StorageClass, static volumes binding (and not binding), Retain and Delete, a default-
// class claim waiting for its first consumer, claims protected while in use.
//
// The control plane alone is exercised: no node runs here (KITE_NODE=none); a Node object
// stands for one, and pods are put on it with spec.nodeName. The data tests, which need
// a kubelet mounting volumes, are in storage-data.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, waitFor, waitForQuiet } from './harness.js';

process.env.KITE_NODE = 'none';
const cluster = new Cluster('storage');
const NODE = 'storage-node-1';

before(async () => {
  await cluster.up();
  await cluster.k(['apply', '-f', '-'], {
    stdin: `apiVersion: v1
kind: Node
metadata:
  name: ${NODE}
  labels:
    kubernetes.io/hostname: ${NODE}
`,
  });
});

after(async () => {
  await cluster.down();
});

const pv = (name: string, path: string, size: string, policy: string, cls = 'manual', labels = '') => `apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${name}
${labels ? `  labels:\n${labels}` : ''}
spec:
  capacity:
    storage: ${size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: ${policy}
  storageClassName: ${cls}
  hostPath:
    path: ${path}
`;

const pvc = (name: string, size: string, extra = '') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: ${size}
${extra}`;

const pod = (name: string, claim: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${NODE}
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: ${claim}
`;

async function jsonpath(args: string[], path: string): Promise<string> {
  return (await cluster.k([...args, '-o', `jsonpath=${path}`])).trim();
}

async function eventFor(name: string, reason: string): Promise<string> {
  return waitFor(`${reason} event for ${name}`, async () => {
    const out = await cluster.k(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=${reason}`, '-o', 'jsonpath={.items[*].message}']);
    return out.trim() || undefined;
  });
}

test('kubectl get sc: the default class local-path, rancher.io/local-path, Delete, WaitForFirstConsumer', async () => {
  const out = await cluster.k(['get', 'sc']);
  assert.match(out, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/m);
  assert.match(out, /^local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\d+[smh]$/m);
  const sc = JSON.parse(await cluster.k(['get', 'sc', 'local-path', '-o', 'json']));
  assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
  assert.equal(sc.parameters.nodePath, join(cluster.home, cluster.name, 'storage'));
});

test('a static volume binds to a matching claim and not to a mismatching one', async () => {
  await cluster.k(['apply', '-f', '-'], { stdin: pv('pv-static', join(cluster.home, 'static'), '2Gi', 'Retain') });
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('too-big', '5Gi', '  storageClassName: manual\n') });
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('wrong-class', '1Gi', '  storageClassName: other\n') });
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('fits', '1Gi', '  storageClassName: manual\n') });
  await waitFor('claim bound', async () => (await jsonpath(['get', 'pvc', 'fits'], '{.status.phase}')) === 'Bound');

  const pvs = await cluster.k(['get', 'pv', 'pv-static']);
  assert.match(pvs, /^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$/m);
  assert.match(pvs, /^pv-static\s+2Gi\s+RWO\s+Retain\s+Bound\s+default\/fits\s+manual\s+<unset>\s+\d+s$/m);
  const pvcs = await cluster.k(['get', 'pvc']);
  assert.match(pvcs, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/m);
  assert.match(pvcs, /^fits\s+Bound\s+pv-static\s+2Gi\s+RWO\s+manual\s+<unset>\s+\d+s$/m);
  assert.match(pvcs, /^too-big\s+Pending\s+manual\s+<unset>\s+\d+s$/m);
  assert.match(pvcs, /^wrong-class\s+Pending\s+other\s+<unset>\s+\d+s$/m);
  const claim = JSON.parse(await cluster.k(['get', 'pvc', 'fits', '-o', 'json']));
  assert.equal(claim.metadata.annotations['pv.kubernetes.io/bind-completed'], 'yes');
  assert.equal(claim.metadata.annotations['pv.kubernetes.io/bound-by-controller'], 'yes');
  assert.deepEqual(claim.metadata.finalizers, ['kubernetes.io/pvc-protection']);

  // No class at all (""): nothing to bind, no provisioner.
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('classless', '1Gi', '  storageClassName: ""\n') });
  assert.equal(await eventFor('classless', 'FailedBinding'), 'no persistent volumes available for this claim and no storage class is set');
});

test('Retain keeps a released volume and its data; Delete removes both', async () => {
  const keep = join(cluster.home, 'keep');
  mkdirSync(keep, { recursive: true });
  writeFileSync(join(keep, 'file'), 'data');
  const gone = join(cluster.home, 'gone');
  mkdirSync(gone, { recursive: true });
  writeFileSync(join(gone, 'file'), 'data');
  await cluster.k(['apply', '-f', '-'], { stdin: pv('pv-keep', keep, '1Gi', 'Retain', 'keep') + '---\n' + pv('pv-gone', gone, '1Gi', 'Delete', 'gone') });
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('c-keep', '1Gi', '  storageClassName: keep\n') + '---\n' + pvc('c-gone', '1Gi', '  storageClassName: gone\n') });
  await waitFor('bound', async () => (await jsonpath(['get', 'pvc', 'c-keep', 'c-gone'], '{.items[*].status.phase}')) === 'Bound Bound');

  await cluster.k(['delete', 'pvc', 'c-keep', 'c-gone']);
  await waitFor('pv-keep Released', async () => (await jsonpath(['get', 'pv', 'pv-keep'], '{.status.phase}')) === 'Released');
  assert.match(await cluster.k(['get', 'pv', 'pv-keep']), /^pv-keep\s+1Gi\s+RWO\s+Retain\s+Released\s+default\/c-keep\s+keep\s/m);
  assert.ok(existsSync(join(keep, 'file')));
  await waitFor('pv-gone deleted', async () => (await cluster.kubectl(['get', 'pv', 'pv-gone'])).stderr.includes('not found'));
  assert.equal(existsSync(gone), false);
});

test('a claim of the default class stays Pending (WaitForFirstConsumer) until a pod uses it, then gets a local-path volume on that node', async () => {
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('app-data', '1Gi') });
  assert.equal(await jsonpath(['get', 'pvc', 'app-data'], '{.spec.storageClassName}'), 'local-path');
  assert.equal(await eventFor('app-data', 'WaitForFirstConsumer'), 'waiting for first consumer to be created before binding');
  assert.match(await cluster.k(['get', 'pvc', 'app-data']), /^app-data\s+Pending\s+local-path\s+<unset>\s+\d+s$/m);

  await cluster.k(['apply', '-f', '-'], { stdin: pod('app', 'app-data') });
  await waitFor('claim bound', async () => (await jsonpath(['get', 'pvc', 'app-data'], '{.status.phase}')) === 'Bound', 30_000);
  const claim = JSON.parse(await cluster.k(['get', 'pvc', 'app-data', '-o', 'json']));
  assert.equal(claim.metadata.annotations['volume.kubernetes.io/selected-node'], NODE);
  assert.equal(claim.metadata.annotations['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
  const volume = JSON.parse(await cluster.k(['get', 'pv', claim.spec.volumeName, '-o', 'json']));
  assert.equal(volume.metadata.name, `pvc-${claim.metadata.uid}`);
  assert.equal(volume.spec.hostPath.path, join(cluster.home, cluster.name, 'storage', `pvc-${claim.metadata.uid}_default_app-data`));
  assert.deepEqual(volume.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], { key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] });
  assert.ok(existsSync(volume.spec.hostPath.path), 'directory made');
  assert.match(await cluster.k(['get', 'pv', claim.spec.volumeName]), new RegExp(`^pvc-${claim.metadata.uid}\\s+1Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/app-data\\s+local-path\\s`, 'm'));
  assert.match(await eventFor('app-data', 'ProvisioningSucceeded'), /^Successfully provisioned volume pvc-/);
});

test('deleting a claim in use waits until its pod is gone; its provisioned volume and data then go (Delete)', async () => {
  await cluster.k(['apply', '-f', '-'], { stdin: pvc('busy', '1Gi') });
  await cluster.k(['apply', '-f', '-'], { stdin: pod('busy-user', 'busy') });
  await waitFor('claim bound', async () => (await jsonpath(['get', 'pvc', 'busy'], '{.status.phase}')) === 'Bound', 30_000);
  const volumeName = await jsonpath(['get', 'pvc', 'busy'], '{.spec.volumeName}');
  const path = await jsonpath(['get', 'pv', volumeName], '{.spec.hostPath.path}');

  const r = await cluster.kubectl(['delete', 'pvc', 'busy', '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /persistentvolumeclaim "busy" deleted/);
  await waitForQuiet(cluster);
  assert.match(await cluster.k(['get', 'pvc', 'busy']), /^busy\s+Terminating\s+pvc-\S+\s+1Gi\s+RWO\s+local-path\s/m);
  assert.equal(await jsonpath(['get', 'pv', volumeName], '{.status.phase}'), 'Bound');

  // No kubelet here: the pod goes by force.
  await cluster.k(['delete', 'pod', 'busy-user', '--force', '--grace-period=0']);
  await waitFor('claim gone', async () => (await cluster.kubectl(['get', 'pvc', 'busy'])).stderr.includes('not found'), 30_000);
  await waitFor('volume gone', async () => (await cluster.kubectl(['get', 'pv', volumeName])).stderr.includes('not found'), 30_000);
  assert.equal(existsSync(path), false, 'data removed');
});
