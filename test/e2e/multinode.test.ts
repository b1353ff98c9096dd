// Acceptance: several real nodes on one host (`kite up --nodes 3`, `kite node add|rm`),
// driven by the real kubectl. Each worker node has its own network namespace, node IP,
// containerd, kubelet, pod CIDR (from the node IPAM controller) and service proxy; pods
// reach each other across nodes through kernel routes. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Cluster, applyYaml, waitFor } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers and programs the kernel';

// Unique per run: the cluster name is in every host-global name (netns, bridges, tables).
const cluster = new Cluster(`mn${Math.random().toString(36).slice(2, 7)}`, {
  // A node that stops answering is noticed quickly.
  KITE_NODE_MONITOR_GRACE_SECONDS: '12',
  KITE_NODE_MONITOR_PERIOD_SECONDS: '2',
});
const cp = `${cluster.name}-control-plane`;
const w1 = `${cluster.name}-worker`;
const w2 = `${cluster.name}-worker2`;

async function json(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k([...args, '-o', 'json']));
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const r = request({ host, port, path: '/', timeout: 3000, agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(res.statusCode === 200 ? b.trim() : `ERR ${res.statusCode}`));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => resolve(`ERR ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    r.end();
  });
}

async function readyNodes(): Promise<any[]> {
  const list = await json(['get', 'nodes']);
  return list.items.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
}

async function podsOf(selector: string): Promise<any[]> {
  return (await json(['get', 'pods', '-l', selector])).items;
}

async function runningPodsOf(selector: string, count: number): Promise<any[]> {
  return waitFor(
    `${count} running pods ${selector}`,
    async () => {
      const pods = (await podsOf(selector)).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return pods.length === count ? pods : undefined;
    },
    120_000,
    500,
  );
}

/** wget from a pod (busybox: no -T, its timeout flag crashes this build). */
async function fetchFrom(pod: string, url: string): Promise<string> {
  const r = await cluster.kubectl(['exec', pod, '--', 'wget', '-qO-', url], { timeoutMs: 20_000 });
  return r.code === 0 ? r.stdout.trim() : `ERR ${r.code} ${r.stderr.trim()}`;
}

const SPREAD = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: ${name}}}}
      tolerations:
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: web
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo $(hostname) > /tmp/index.html; echo serving; exec httpd -f -p 8080 -h /tmp"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`;

describe('several real nodes on one host', { skip, timeout: 900_000 }, () => {
  before(async () => {
    await cluster.up(['--nodes', '3']);
    await waitFor('3 Ready nodes', async () => ((await readyNodes()).length === 3 ? true : undefined), 180_000, 1000);
  });

  after(async () => {
    await cluster.down();
  });

  test('kite up --nodes 3: three Ready nodes with their own IPs and distinct pod CIDRs', async () => {
    const nodes = (await json(['get', 'nodes'])).items;
    assert.deepEqual(nodes.map((n: any) => n.metadata.name).sort(), [cp, w1, w2].sort());
    const cidrs = nodes.map((n: any) => n.spec.podCIDR);
    assert.equal(new Set(cidrs).size, 3, cidrs.join(' '));
    for (const c of cidrs) assert.match(c, /^10\.2(4[4-9]|50)\.\d+\.0\/24$/);
    const ips = nodes.map((n: any) => n.status.addresses.find((a: any) => a.type === 'InternalIP').address);
    assert.equal(new Set(ips).size, 3, ips.join(' '));
    for (const n of nodes) assert.ok(Number(n.status.capacity['ephemeral-storage'].replace(/Ki$/, '')) > 0);
  });

  test('a Deployment spread over the nodes; pod IPs from each node\'s CIDR; logs and exec on a worker', async () => {
    await applyYaml(cluster, 'web', SPREAD('web', 3) + `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
    const pods = await runningPodsOf('app=web', 3);
    const nodes = (await json(['get', 'nodes'])).items;
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), [cp, w1, w2].sort());
    for (const p of pods) {
      const cidr = nodes.find((n: any) => n.metadata.name === p.spec.nodeName).spec.podCIDR;
      assert.ok(p.status.podIP.startsWith(cidr.split('.').slice(0, 3).join('.') + '.'), `${p.status.podIP} in ${cidr}`);
    }
    const onWorker = pods.find((p) => p.spec.nodeName === w2)!;
    assert.match(await cluster.k(['logs', onWorker.metadata.name]), /serving/);
    assert.equal((await cluster.k(['exec', onWorker.metadata.name, '--', 'hostname'])).trim(), onWorker.metadata.name);
  });

  test('across nodes: a client on one worker reaches a pod on another by pod IP, ClusterIP and DNS name', async () => {
    await applyYaml(cluster, 'only', `apiVersion: v1
kind: Pod
metadata: {name: only, labels: {app: only}}
spec:
  nodeName: ${w2}
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo only > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: only}
spec:
  selector: {app: only}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: ${w1}
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`);
    await runningPodsOf('app=only', 1);
    await waitFor('client running', async () => (await json(['get', 'pod', 'client'])).status?.phase === 'Running', 60_000, 500);
    const only = await json(['get', 'pod', 'only']);
    const svc = await json(['get', 'svc', 'only']);
    assert.equal(await fetchFrom('client', `http://${only.status.podIP}:8080/`), 'only');
    assert.equal(await waitFor('ClusterIP across nodes', async () => ((await fetchFrom('client', `http://${svc.spec.clusterIP}/`)) === 'only' ? 'only' : undefined), 30_000, 500), 'only');
    assert.equal(await fetchFrom('client', 'http://only.default.svc.cluster.local/'), 'only');
    assert.equal(await fetchFrom('client', 'http://only/'), 'only');
    // And from the control plane's node to the worker's pod.
    const web = await podsOf('app=web');
    const onCp = web.find((p) => p.spec.nodeName === cp);
    assert.equal(await fetchFrom(onCp.metadata.name, `http://${svc.spec.clusterIP}/`), 'only');
  });

  test('NodePort answers on every node IP', async () => {
    const np = (await json(['get', 'svc', 'web'])).spec.ports[0].nodePort;
    const names = new Set((await podsOf('app=web')).map((p) => p.metadata.name));
    for (const n of (await json(['get', 'nodes'])).items) {
      const ip = n.status.addresses.find((a: any) => a.type === 'InternalIP').address;
      const body = await waitFor(`NodePort on ${ip}`, async () => {
        const b = await httpGet(ip, np);
        return names.has(b) ? b : undefined;
      }, 20_000, 500);
      assert.ok(names.has(body));
    }
  });

  test('a DaemonSet lands on every node', async () => {
    await applyYaml(cluster, 'ds', `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - {name: a, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`);
    const pods = await runningPodsOf('app=agent', 3);
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), [cp, w1, w2].sort());
    await cluster.k(['delete', 'daemonset', 'agent', '--wait=false']);
  });

  test('kubectl drain moves pods to the other nodes; uncordon', async () => {
    await applyYaml(cluster, 'moved', SPREAD('moved', 2).replace('whenUnsatisfiable: DoNotSchedule', 'whenUnsatisfiable: ScheduleAnyway'));
    const before = await runningPodsOf('app=moved', 2);
    const victim = before[0].spec.nodeName;
    const r = await cluster.kubectl(['drain', victim, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--pod-selector=app=moved', '--timeout=120s'], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`node/${victim} drained`));
    const after = await runningPodsOf('app=moved', 2);
    for (const p of after) assert.notEqual(p.spec.nodeName, victim);
    await cluster.k(['uncordon', victim]);
    assert.notEqual((await json(['get', 'node', victim])).spec.unschedulable, true);
  });

  test('a node whose kubelet stops answering goes NotReady and its pods are replaced on the others', async () => {
    const pods = await runningPodsOf('app=web', 3);
    const lost = pods.find((p) => p.spec.nodeName === w1)!;
    const pid = Number(readFileSync(join(cluster.home, cluster.name, 'nodes', w1, 'kubelet.pid'), 'utf8'));
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`${w1} NotReady`, async () => {
        const ready = (await json(['get', 'node', w1])).status.conditions.find((c: any) => c.type === 'Ready');
        return ready.status !== 'True' ? true : undefined;
      }, 90_000, 1000);
      const replaced = await waitFor('a replacement on another node', async () => {
        const now = (await podsOf('app=web')).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.spec.nodeName !== w1);
        return now.length === 3 ? now : undefined;
      }, 120_000, 1000);
      assert.ok(!replaced.some((p) => p.metadata.name === lost.metadata.name));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(`${w1} Ready again`, async () => ((await readyNodes()).some((n) => n.metadata.name === w1) ? true : undefined), 90_000, 1000);
  });

  test('kite node add and kite node rm on the running cluster', async () => {
    const added = await cluster.kite(['node', 'add', '--name', cluster.name]);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const w3 = `${cluster.name}-worker3`;
    assert.match(added.stdout, new RegExp(`Node ${w3} is Ready`));
    const nodes = (await json(['get', 'nodes'])).items;
    assert.equal(nodes.length, 4);
    assert.equal(new Set(nodes.map((n: any) => n.spec.podCIDR)).size, 4);
    // Pods run there and are reachable from the others.
    await applyYaml(cluster, 'on3', `apiVersion: v1
kind: Pod
metadata: {name: on3}
spec:
  nodeName: ${w3}
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo three > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
`);
    const on3 = await waitFor('on3 running', async () => {
      const p = await json(['get', 'pod', 'on3']);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    }, 60_000, 500);
    assert.equal(await waitFor('pod on the new node from another', async () => ((await fetchFrom('client', `http://${on3.status.podIP}:8080/`)) === 'three' ? 'three' : undefined), 30_000, 500), 'three');

    const removed = await cluster.kite(['node', 'rm', w3, '--name', cluster.name]);
    assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    const left = (await json(['get', 'nodes'])).items.map((n: any) => n.metadata.name).sort();
    assert.deepEqual(left, [cp, w1, w2].sort());
    const refused = await cluster.kite(['node', 'rm', cp, '--name', cluster.name]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no removable node/);
  });
});
