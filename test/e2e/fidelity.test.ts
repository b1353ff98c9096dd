// Acceptance: what clients written elsewhere trip over on a cluster with a node (issue 15):
// port-forward over a plain v4.channel.k8s.io WebSocket (the Python client), an Always
// pull that fails reports ErrImagePull even with the image on the node, a Failed
// `restartPolicy: Never` pod keeps upstream's status across `kite down` + `kite up`, and
// the ingress controller's real address is in `kite up`'s output and in Ingress status.
// Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, KITE_MAIN, WEB_APP, applyYaml, getPod, nodeDirOf, nodeNameOf, run, waitFor, waitForNodeReady, waitForPod } from './harness.js';
import { CriClient } from '../../kubelet/cri/client.js';
import { buildBusyboxImage } from '../../kubelet/images/busybox.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root: runs containers';
const python = '/usr/bin/python3';

const cluster = new Cluster('fid-node');
let node = '';

const cstatus = (p: any, name: string) => (p.status?.containerStatuses ?? []).find((c: any) => c.name === name);

function pod(name: string, spec: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  nodeName: ${node}\n${spec}`;
}

async function runtimeContainersOf(uid: string): Promise<string[]> {
  const meta = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'containerd', 'runtime.json'), 'utf8'));
  const cri = new CriClient(meta.socket);
  try {
    const { containers } = await cri.listContainers({ filter: { labelSelector: { 'io.kubernetes.pod.uid': uid } } });
    return containers.map((c) => c.id);
  } finally {
    cri.close();
  }
}

const portForwardScript = `
import sys
from kubernetes import client, config
from kubernetes.stream import portforward
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
pf = portforward(core.connect_get_namespaced_pod_portforward, sys.argv[2], "default", ports="8080")
sock = pf.socket(8080)
sock.setblocking(True)
sock.sendall(b"GET /index.html HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
data = b""
while True:
    chunk = sock.recv(4096)
    if not chunk:
        break
    data += chunk
sock.close()
err = pf.error(8080)
print(data.decode().split("\\r\\n\\r\\n", 1)[-1].strip())
if err:
    print("ERROR:" + err, file=sys.stderr)
`;

describe('fidelity on a node', { skip }, () => {
  before(async () => {
    await cluster.up();
    node = nodeNameOf(cluster);
    await waitForNodeReady(cluster, 120_000);
  });

  after(async () => {
    await cluster.down();
  });

  test('kite up says where Ingresses are served; Ingress status carries that address and its ports', async () => {
    const m = /Ingresses are served at http:\/\/([\d.]+):(\d+) and https:\/\/[\d.]+:(\d+)/.exec(cluster.upOutput);
    assert.ok(m, `kite up output:\n${cluster.upOutput}`);
    const [, ip, http, https] = m;
    if (http !== '80' || https !== '443') assert.match(cluster.upOutput, /ports 80\/443 are taken on this host/);
    await cluster.k(['create', 'ingress', 'fid-ing', '--class=kite', '--rule=fid.example/=web:80']);
    const ing = await waitFor('ingress status', async () => {
      const o = JSON.parse(await cluster.k(['get', 'ingress', 'fid-ing', '-o', 'json']));
      return o.status?.loadBalancer?.ingress?.length ? o : undefined;
    }, 60_000);
    const entry = ing.status.loadBalancer.ingress[0];
    assert.equal(entry.ip, ip);
    if (http === '80' && https === '443') assert.equal(entry.ports, undefined);
    else assert.deepEqual(entry.ports, [{ port: Number(http), protocol: 'TCP' }, { port: Number(https), protocol: 'TCP' }]);
    assert.match(await cluster.k(['get', 'ingress', 'fid-ing']), new RegExp(`^fid-ing\\s+kite\\s+fid\\.example\\s+${ip.replace(/\./g, '\\.')}\\s+80\\s+`, 'm'));
  });

  test('port-forward over a plain v4.channel.k8s.io WebSocket (python3-kubernetes) reaches the pod', async (t) => {
    if (!existsSync(python) || (await run(python, ['-c', 'import kubernetes.stream'])).code !== 0) {
      t.skip('python3-kubernetes is not installed (scripts/test.sh installs it when run as root)');
      return;
    }
    await applyYaml(cluster, 'web', WEB_APP);
    await cluster.k(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    const name = (await cluster.k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    const r = await run(python, ['-c', portForwardScript, cluster.kubeconfig, name], { env: cluster.env(), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), name, r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR:/);
  });

  test('imagePullPolicy Always: a failed pull is ErrImagePull/ImagePullBackOff even with the image on the node', async () => {
    const image = 'registry.kite.test/fid/app:1.0';
    const tar = join(cluster.home, 'fid-app.tar');
    await buildBusyboxImage(image, { outPath: tar });
    const load = await run(process.execPath, [KITE_MAIN, 'image', 'load', '--name', cluster.name, tar], { env: cluster.env() });
    assert.equal(load.code, 0, load.stderr);
    // The image is there: IfNotPresent runs it.
    await applyYaml(cluster, 'present', pod('present', `  containers:\n  - {name: app, image: ${image}, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}\n`));
    await waitForPod(cluster, 'present', 'Running', (x) => !!cstatus(x, 'app')?.state?.running, 60_000);
    // Always must pull, and the pull fails.
    await applyYaml(cluster, 'always', pod('always', `  containers:\n  - {name: app, image: ${image}, imagePullPolicy: Always, command: ["sleep", "3600"]}\n`));
    const p = await waitForPod(cluster, 'always', 'ErrImagePull or ImagePullBackOff', (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(cstatus(x, 'app')?.state?.waiting?.reason), 60_000);
    assert.equal(p.status.phase, 'Pending');
    assert.equal(cstatus(p, 'app').restartCount, 0);
    await waitForPod(cluster, 'always', 'ImagePullBackOff', (x) => cstatus(x, 'app')?.state?.waiting?.reason === 'ImagePullBackOff', 60_000);
    const events = JSON.parse(await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=always', '-o', 'json'])).items;
    assert.ok(events.some((e: any) => e.reason === 'Failed' && /^Failed to pull image "registry\.kite\.test\/fid\/app:1\.0": /.test(e.message) && !/using the image already present/.test(e.message)));
    assert.match(await cluster.k(['get', 'pod', 'always']), /^always\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+/m);
  });

  test('a Failed restartPolicy: Never pod keeps its status across kite down and kite up', async () => {
    await applyYaml(cluster, 'failed-once', pod('failed-once', `  restartPolicy: Never\n  containers:\n  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "exit 3"]}\n`));
    const before = await waitForPod(cluster, 'failed-once', 'Failed', (x) => x.status?.phase === 'Failed', 60_000);
    const terminated = cstatus(before, 'app').state.terminated;
    assert.equal(terminated.exitCode, 3);
    assert.match(await cluster.k(['get', 'pod', 'failed-once']), /^failed-once\s+0\/1\s+Error\s+0\s+/m);

    const down = await run(process.execPath, [KITE_MAIN, 'down', '--name', cluster.name], { env: cluster.env(), timeoutMs: 120_000 });
    assert.equal(down.code, 0, down.stdout + down.stderr);
    const up = await run(process.execPath, [KITE_MAIN, 'up', '--name', cluster.name], { env: cluster.env(), timeoutMs: 180_000 });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    await waitForNodeReady(cluster, 120_000);
    // The kubelet has synced its pods once a pod created after the restart runs.
    await applyYaml(cluster, 'after-up', pod('after-up', '  containers:\n  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}\n'));
    await waitForPod(cluster, 'after-up', 'Running', (x) => !!cstatus(x, 'app')?.state?.running, 120_000);

    const after = await getPod(cluster, 'failed-once');
    assert.equal(after.status.phase, 'Failed');
    const c = cstatus(after, 'app');
    assert.equal(c.restartCount, 0);
    assert.deepEqual(c.state, { terminated });
    assert.equal(c.ready, false);
    assert.deepEqual(await runtimeContainersOf(after.metadata.uid), [], 'nothing was started again');
    assert.match(await cluster.k(['get', 'pod', 'failed-once']), /^failed-once\s+0\/1\s+Error\s+0\s+/m);
  });
});
