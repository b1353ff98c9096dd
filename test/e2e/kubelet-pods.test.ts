// Acceptance: pods run as real containers on the node `kite up` starts (private
// containerd + kubelet), driven by the real kubectl. Needs root.
//
// Pods name their node in spec.nodeName so these tests do not depend on a scheduler.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, KITE_MAIN, applyYaml, getPod, nodeDirOf, nodeNameOf, run, waitFor, waitForNodeReady, waitForPod } from './harness.js';
import { CriClient } from '../../kubelet/cri/client.js';
import { buildBusyboxImage } from '../../kubelet/images/busybox.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers';

const cluster = new Cluster('kubelet');
let node = '';
let cri: CriClient;

/** A pod manifest bound to the test node. */
function pod(name: string, spec: string, extraMeta = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
${extraMeta}spec:
  nodeName: ${node}
${spec}`;
}

const cond = (p: any, type: string) => (p.status?.conditions ?? []).find((c: any) => c.type === type);
const cstatus = (p: any, name: string) => [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].find((c: any) => c.name === name);

async function runtimeContainersOf(uid: string): Promise<Array<{ id: string; state: string }>> {
  const { containers } = await cri.listContainers({ filter: { labelSelector: { 'io.kubernetes.pod.uid': uid } } });
  return containers.map((c) => ({ id: c.id, state: c.state }));
}

describe('kubelet: pods as containers', { skip }, () => {
  before(async () => {
    await cluster.up();
    node = nodeNameOf(cluster);
    await waitForNodeReady(cluster, 90_000);
    const meta = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'containerd', 'runtime.json'), 'utf8'));
    cri = new CriClient(meta.socket);
  });

  after(async () => {
    cri?.close();
    await cluster.down();
  });

  test('the node registers with capacity, labels, nodeInfo, conditions, endpoint and a Lease', async () => {
    const n = JSON.parse(await cluster.k(['get', 'node', node, '-o', 'json']));
    const labels = n.metadata.labels;
    assert.equal(labels['kubernetes.io/hostname'], node);
    assert.equal(labels['kubernetes.io/os'], 'linux');
    assert.equal(labels['beta.kubernetes.io/os'], 'linux');
    assert.ok(labels['kubernetes.io/arch']);
    assert.equal(labels['node-role.kubernetes.io/control-plane'], '');
    for (const k of ['cpu', 'memory', 'pods', 'ephemeral-storage']) {
      assert.ok(n.status.capacity[k], `capacity.${k}`);
      assert.ok(n.status.allocatable[k], `allocatable.${k}`);
    }
    assert.equal(n.status.capacity.pods, '110');
    assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.33.0');
    assert.match(n.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\.6\./);
    assert.equal(n.status.nodeInfo.operatingSystem, 'linux');
    assert.ok(n.status.nodeInfo.kernelVersion && n.status.nodeInfo.osImage && n.status.nodeInfo.architecture);
    const types = n.status.conditions.map((c: any) => c.type).sort();
    assert.deepEqual(types, ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
    assert.equal(cond(n, 'Ready').reason, 'KubeletReady');
    assert.equal(cond(n, 'MemoryPressure').status, 'False');
    assert.ok(cond(n, 'Ready').lastHeartbeatTime);
    const addrTypes = n.status.addresses.map((a: any) => a.type);
    assert.ok(addrTypes.includes('InternalIP') && addrTypes.includes('Hostname'));
    assert.ok(n.status.daemonEndpoints.kubeletEndpoint.Port > 0);
    assert.match(n.spec.podCIDR, /^10\.2(4[4-9]|50)\.\d+\.0\/24$/);
    const lease = JSON.parse(await cluster.k(['get', 'lease', node, '-n', 'kube-node-lease', '-o', 'json']));
    assert.equal(lease.spec.holderIdentity, node);
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    const first = Date.parse(lease.spec.renewTime);
    await waitFor(
      'the lease to be renewed',
      async () => {
        const l = JSON.parse(await cluster.k(['get', 'lease', node, '-n', 'kube-node-lease', '-o', 'json']));
        return Date.parse(l.spec.renewTime) > first;
      },
      25_000,
      1000,
    );
    const wide = await cluster.k(['get', 'nodes', '-o', 'wide']);
    assert.match(wide, new RegExp(`${node}\\s+Ready\\s+control-plane`));
  });

  test('seed 004 (with valid names, busybox): runs, completes, and is restarted with back-off as upstream does', async () => {
    const seed = readFileSync(join(KITE_MAIN, '..', '..', '..', 'test', 'fixtures', 'seeds', '004-pod.yaml'), 'utf8')
      .replace('<my pod name here>', 'seed-pod')
      .replace('<my container name here>', 'seed-container')
      .replace('foo:bar', 'busybox')
      .replace('spec:\n', `spec:\n  nodeName: ${node}\n`);
    const file = cluster.writeFile('seed-004.yaml', seed);
    assert.match(await cluster.k(['apply', '-f', file]), /pod\/seed-pod created/);
    // busybox's default command is `sh`: without stdin it exits 0 at once.
    const p = await waitForPod(cluster, 'seed-pod', 'restarted after completing', (x) => {
      const c = cstatus(x, 'seed-container');
      return c && c.restartCount >= 1 && c.lastState?.terminated?.reason === 'Completed';
    });
    const c = cstatus(p, 'seed-container');
    assert.equal(c.lastState.terminated.exitCode, 0);
    assert.match(c.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
    assert.equal(c.image, 'docker.io/library/busybox:latest');
    assert.ok(c.imageID);
    assert.equal(p.status.qosClass, 'BestEffort');
    const q = await waitForPod(cluster, 'seed-pod', 'CrashLoopBackOff', (x) => cstatus(x, 'seed-container')?.state?.waiting?.reason === 'CrashLoopBackOff', 60_000);
    assert.match(cstatus(q, 'seed-container').state.waiting.message, /^back-off \d+s restarting failed container=seed-container pod=seed-pod_default\(/);
    assert.equal(q.status.phase, 'Running');
    assert.equal(cond(q, 'Ready').status, 'False');
    assert.equal(cond(q, 'Ready').reason, 'ContainersNotReady');
    assert.equal(cond(q, 'Ready').message, 'containers with unready status: [seed-container]');
    const table = await cluster.k(['get', 'pod', 'seed-pod']);
    assert.match(table, /seed-pod\s+0\/1\s+(CrashLoopBackOff|Completed)/);
  });

  test('a running pod reports upstream status: phase, the five conditions, IPs, start time, container state', async () => {
    await applyYaml(
      cluster,
      'status-pod',
      pod(
        'status-pod',
        `  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 100m, memory: 32Mi}
`,
      ),
    );
    const p = await waitForPod(cluster, 'status-pod', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    assert.equal(p.status.phase, 'Running');
    assert.deepEqual(
      p.status.conditions.map((c: any) => [c.type, c.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    for (const c of p.status.conditions) assert.ok(c.lastTransitionTime, `${c.type} lastTransitionTime`);
    const n = JSON.parse(await cluster.k(['get', 'node', node, '-o', 'json']));
    const internal = n.status.addresses.find((a: any) => a.type === 'InternalIP').address;
    assert.equal(p.status.hostIP, internal);
    assert.deepEqual(p.status.hostIPs, [{ ip: internal }]);
    const prefix = n.spec.podCIDR.split('.').slice(0, 3).join('.') + '.';
    assert.ok(p.status.podIP.startsWith(prefix), `${p.status.podIP} in ${n.spec.podCIDR}`);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.ok(Date.parse(p.status.startTime) > 0);
    assert.equal(p.status.qosClass, 'Guaranteed');
    const c = cstatus(p, 'main');
    assert.equal(c.ready, true);
    assert.equal(c.started, true);
    assert.equal(c.restartCount, 0);
    assert.ok(c.state.running.startedAt);
    // the container's cgroup got the limits
    const out = await cluster.k(['exec', 'status-pod', '--', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
    assert.equal(out.trim(), String(32 * 1024 * 1024));
    assert.match(await cluster.k(['get', 'pod', 'status-pod', '-o', 'wide']), new RegExp(`status-pod\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${p.status.podIP.replace(/\./g, '\\.')}\\s+${node}`));
  });

  test('two containers share localhost and an emptyDir; init containers run first', async () => {
    await applyYaml(
      cluster,
      'duo',
      pod(
        'duo',
        `  initContainers:
  - name: setup
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo from-init > /shared/index.html"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["httpd", "-f", "-p", "8080", "-h", "/shared"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: client
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while true; do wget -qO /data/fetched http://localhost:8080/index.html; sleep 1; done"]
    volumeMounts: [{name: shared, mountPath: /data}]
  volumes:
  - name: shared
    emptyDir: {}
  - name: mem
    emptyDir: {medium: Memory, sizeLimit: 8Mi}
`,
      ),
    );
    const p = await waitForPod(cluster, 'duo', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    const init = p.status.initContainerStatuses[0];
    assert.equal(init.state.terminated.reason, 'Completed');
    assert.equal(init.ready, true);
    assert.equal((await cluster.k(['exec', 'duo', '-c', 'client', '--', 'wget', '-qO-', 'http://localhost:8080/index.html'])).trim(), 'from-init');
    await waitFor('the client to fetch through localhost', async () => (await cluster.kubectl(['exec', 'duo', '-c', 'web', '--', 'cat', '/shared/fetched'])).stdout.trim() === 'from-init', 20_000, 500);
    assert.match(await cluster.k(['get', 'pod', 'duo']), /duo\s+2\/2\s+Running/);
  });

  test('env from ConfigMap and Secret, $(VAR) expansion, downward API; mounted ConfigMap files follow updates', async () => {
    await applyYaml(
      cluster,
      'env',
      `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  GREETING: hello
  settings.conf: version=1
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData:
  PASSWORD: s3cret
---
${pod(
  'envpod',
  `  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo 'MSG=$(MSG)'; sleep 3600"]
    args: []
    env:
    - name: TARGET
      value: world
    - name: MSG
      value: "$(GREETING), $(TARGET) from $(MY_NAME) $$(LITERAL)"
    - name: MY_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: MY_NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: MEM_MI
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    - name: PW
      valueFrom: {secretKeyRef: {name: app-secret, key: PASSWORD}}
    envFrom:
    - configMapRef: {name: app-config}
    - secretRef: {name: app-secret}
      prefix: SEC_
    volumeMounts:
    - {name: config, mountPath: /etc/app}
    - {name: podinfo, mountPath: /etc/podinfo}
    resources:
      limits: {memory: 48Mi}
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
`,
  '  labels: {app: envpod, tier: test}\n',
)}`,
    );
    const p = await waitForPod(cluster, 'envpod', 'Running', (x) => cond(x, 'Ready')?.status === 'True');
    const env = Object.fromEntries(
      (await cluster.k(['exec', 'envpod', '--', 'env']))
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(env.GREETING, 'hello');
    // MY_NAME is defined after MSG: upstream leaves the reference as it is.
    assert.equal(env.MSG, 'hello, world from $(MY_NAME) $(LITERAL)');
    assert.equal(env.MY_NAME, 'envpod');
    assert.equal(env.MY_IP, p.status.podIP);
    assert.equal(env.MY_NODE, node);
    assert.equal(env.MEM_MI, '48');
    assert.equal(env.PW, 's3cret');
    assert.equal(env.SEC_PASSWORD, 's3cret');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(env.KUBERNETES_SERVICE_PORT, '443');
    assert.match(env.KUBERNETES_PORT ?? '', /^tcp:\/\/10\.96\.0\.1:443$/);
    assert.equal((await cluster.k(['logs', 'envpod'])).trim(), 'MSG=hello, world from $(MY_NAME) $(LITERAL)');
    assert.equal((await cluster.k(['exec', 'envpod', '--', 'cat', '/etc/app/settings.conf'])).trim(), 'version=1');
    assert.equal((await cluster.k(['exec', 'envpod', '--', 'cat', '/etc/podinfo/labels'])).trim(), 'app="envpod"\ntier="test"');
    const ls = await cluster.k(['exec', 'envpod', '--', 'ls', '-la', '/etc/app']);
    assert.match(ls, /\.\.data -> \.\.\d{4}_\d{2}_\d{2}_/);
    assert.match(ls, /settings\.conf -> \.\.data\/settings\.conf/);
    await cluster.k(['patch', 'configmap', 'app-config', '-p', '{"data":{"settings.conf":"version=2"}}']);
    await waitFor('the mounted file to change', async () => (await cluster.kubectl(['exec', 'envpod', '--', 'cat', '/etc/app/settings.conf'])).stdout.trim() === 'version=2', 60_000, 1000);
    // a missing ConfigMap keeps a container waiting with CreateContainerConfigError
    await applyYaml(
      cluster,
      'missing-cm',
      pod(
        'missing-cm',
        `  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    envFrom: [{configMapRef: {name: nope}}]
`,
      ),
    );
    const m = await waitForPod(cluster, 'missing-cm', 'CreateContainerConfigError', (x) => cstatus(x, 'app')?.state?.waiting?.reason === 'CreateContainerConfigError');
    assert.equal(cstatus(m, 'app').state.waiting.message, 'configmap "nope" not found');
  });

  test('CrashLoopBackOff: restarts grow with an exponential back-off', async () => {
    await applyYaml(
      cluster,
      'crasher',
      pod(
        'crasher',
        `  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo run; exit 2"]
`,
      ),
    );
    const a = await waitForPod(cluster, 'crasher', 'back-off 10s', (x) => /^back-off 10s /.test(cstatus(x, 'app')?.state?.waiting?.message ?? ''), 60_000);
    assert.equal(cstatus(a, 'app').state.waiting.reason, 'CrashLoopBackOff');
    assert.equal(cstatus(a, 'app').lastState.terminated.exitCode, 2);
    assert.equal(cstatus(a, 'app').lastState.terminated.reason, 'Error');
    const r1 = cstatus(a, 'app').restartCount;
    const b = await waitForPod(cluster, 'crasher', 'back-off 20s', (x) => /^back-off 20s /.test(cstatus(x, 'app')?.state?.waiting?.message ?? ''), 60_000);
    assert.ok(cstatus(b, 'app').restartCount > r1, 'restartCount grows');
    const events = await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=crasher', '-o', 'json']);
    assert.ok(JSON.parse(events).items.some((e: any) => e.reason === 'BackOff' && /Back-off restarting failed container app in pod crasher_default/.test(e.message)));
  });

  test('ImagePullBackOff recovers after `kite image load`', async () => {
    const image = 'registry.kite.test/e2e/app:1.0';
    await applyYaml(
      cluster,
      'needs-image',
      pod(
        'needs-image',
        `  containers:
  - name: app
    image: ${image}
    command: ["sleep", "3600"]
`,
      ),
    );
    const p = await waitForPod(cluster, 'needs-image', 'ErrImagePull or ImagePullBackOff', (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(cstatus(x, 'app')?.state?.waiting?.reason));
    assert.equal(p.status.phase, 'Pending');
    await waitForPod(cluster, 'needs-image', 'ImagePullBackOff', (x) => cstatus(x, 'app')?.state?.waiting?.reason === 'ImagePullBackOff');
    const tar = join(cluster.home, 'app-image.tar');
    await buildBusyboxImage(image, { outPath: tar });
    const r = await run(process.execPath, [KITE_MAIN, 'image', 'load', '--name', cluster.name, tar], { env: cluster.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Loaded image: registry\.kite\.test\/e2e\/app:1\.0/);
    const ok = await waitForPod(cluster, 'needs-image', 'Running', (x) => !!cstatus(x, 'app')?.state?.running, 30_000);
    assert.equal(ok.status.phase, 'Running');
  });

  test('a container over its memory limit is OOMKilled and reported so', async () => {
    await applyYaml(
      cluster,
      'hog',
      pod(
        'hog',
        `  restartPolicy: Never
  containers:
  - name: hog
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"]
    resources:
      limits: {memory: 16Mi}
`,
      ),
    );
    const p = await waitForPod(cluster, 'hog', 'OOMKilled', (x) => cstatus(x, 'hog')?.state?.terminated?.reason === 'OOMKilled');
    assert.equal(cstatus(p, 'hog').state.terminated.exitCode, 137);
    const done = await waitForPod(cluster, 'hog', 'Failed', (x) => x.status.phase === 'Failed');
    assert.equal(cond(done, 'Ready').reason, 'PodFailed');
    assert.match(await cluster.k(['get', 'pod', 'hog']), /hog\s+0\/1\s+OOMKilled/);
  });

  test('a failing liveness probe restarts the container; readiness flips the Ready condition', async () => {
    await applyYaml(
      cluster,
      'probed',
      pod(
        'probed',
        `  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; touch /tmp/alive; httpd -p 8080 -h /www; while true; do sleep 1; done"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 2
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
    ports: [{containerPort: 8080}]
`,
      ),
    );
    const p = await waitForPod(cluster, 'probed', 'running and unready', (x) => !!cstatus(x, 'app')?.state?.running);
    assert.equal(cond(p, 'Ready').status, 'False');
    await cluster.k(['exec', 'probed', '--', 'sh', '-c', 'echo ok > /www/ready']);
    await waitForPod(cluster, 'probed', 'Ready', (x) => cond(x, 'Ready')?.status === 'True' && cond(x, 'ContainersReady')?.status === 'True', 20_000);
    await cluster.k(['exec', 'probed', '--', 'rm', '/www/ready']);
    const unready = await waitForPod(cluster, 'probed', 'not Ready again', (x) => cond(x, 'Ready')?.status === 'False', 20_000);
    assert.equal(cond(unready, 'Ready').reason, 'ContainersNotReady');
    assert.equal(cstatus(unready, 'app').restartCount, 0);
    const firstId = cstatus(unready, 'app').containerID;
    await cluster.k(['exec', 'probed', '--', 'rm', '/tmp/alive']);
    const restarted = await waitForPod(cluster, 'probed', 'restarted', (x) => cstatus(x, 'app')?.restartCount === 1 && !!cstatus(x, 'app')?.state?.running, 30_000);
    assert.notEqual(cstatus(restarted, 'app').containerID, firstId);
    const events = JSON.parse(await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=probed', '-o', 'json'])).items;
    assert.ok(events.some((e: any) => e.reason === 'Unhealthy' && /^Liveness probe failed/.test(e.message)));
    assert.ok(events.some((e: any) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'));
  });

  test('graceful deletion: preStop, then SIGTERM; kubectl delete returns when the containers are gone', async () => {
    const hostDir = join(cluster.home, 'prestop');
    mkdirSync(hostDir, { recursive: true });
    await applyYaml(
      cluster,
      'graceful',
      pod(
        'graceful',
        `  terminationGracePeriodSeconds: 20
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo term >> /host/events; exit 0' TERM; while true; do sleep 1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop >> /host/events"]}
      postStart:
        exec: {command: ["sh", "-c", "echo poststart >> /host/events"]}
    volumeMounts: [{name: host, mountPath: /host}]
  volumes:
  - name: host
    hostPath: {path: ${hostDir}, type: Directory}
`,
      ),
    );
    const p = await waitForPod(cluster, 'graceful', 'Running', (x) => !!cstatus(x, 'app')?.state?.running);
    const uid = p.metadata.uid;
    assert.ok((await runtimeContainersOf(uid)).some((c) => c.state === 'CONTAINER_RUNNING'));
    const t0 = Date.now();
    await cluster.k(['delete', 'pod', 'graceful'], { timeoutMs: 60_000 });
    const took = Date.now() - t0;
    assert.ok(took < 15_000, `deletion took ${took} ms`);
    assert.equal(await getPod(cluster, 'graceful'), undefined);
    assert.deepEqual((await runtimeContainersOf(uid)).filter((c) => c.state === 'CONTAINER_RUNNING'), []);
    assert.deepEqual(readFileSync(join(hostDir, 'events'), 'utf8').trim().split('\n'), ['poststart', 'prestop', 'term']);
    // the pod's directory (volumes) is removed once the pod is gone
    await waitFor('the pod directory to be removed', () => !existsSync(join(nodeDirOf(cluster), 'kubelet', 'pods', uid)), 10_000);
  });

  test('a kubelet that dies abruptly (kill -9 of the server it runs in, then kite up) adopts running containers without restarting them', async () => {
    await applyYaml(
      cluster,
      'survivor',
      pod(
        'survivor',
        `  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`,
      ),
    );
    const before = await waitForPod(cluster, 'survivor', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    const id = cstatus(before, 'app').containerID;
    // The kubelet runs in a thread of the server: it dies abruptly with the server.
    const { oldPid, newPid } = await cluster.killServerAndUp();
    assert.notEqual(newPid, oldPid);
    // the new kubelet serves (exec goes through it) and the container was not restarted
    await waitFor('exec through the new kubelet', async () => (await cluster.kubectl(['exec', 'survivor', '--', 'echo', 'alive'])).stdout.trim() === 'alive', 30_000, 500);
    const after = await getPod(cluster, 'survivor');
    assert.equal(cstatus(after, 'app').containerID, id);
    assert.equal(cstatus(after, 'app').restartCount, 0);
    assert.equal(cond(after, 'Ready').status, 'True');
    // and new pods still start
    await applyYaml(cluster, 'after-restart', pod('after-restart', '  containers:\n  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}\n'));
    await waitForPod(cluster, 'after-restart', 'Running', (x) => !!cstatus(x, 'app')?.state?.running, 30_000);
  });

  test('kite down removes every container, the bridge, the NAT rules, mounts and cgroups', async () => {
    const meta = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'containerd', 'runtime.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'kubelet.json'), 'utf8'));
    assert.ok(existsSync(`/sys/class/net/${meta.bridge}`), 'the bridge exists while pods run');
    cri.close();
    const r = await run(process.execPath, [KITE_MAIN, 'down', '--name', cluster.name], { env: cluster.env(), timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!existsSync(`/sys/class/net/${meta.bridge}`), 'bridge removed');
    const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
    assert.ok(!nat.includes(meta.network), 'no NAT rules left');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(join(cluster.home, cluster.name)), 'no mounts left');
    const shims = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(meta.socket);
      } catch {
        return false;
      }
    });
    assert.deepEqual(shims, [], 'no containerd or shim processes left');
    if (config.cgroupRoot) assert.ok(!existsSync(join('/sys/fs/cgroup/memory', config.cgroupRoot)) && !existsSync(join('/sys/fs/cgroup', config.cgroupRoot)), 'cgroups removed');
    writeFileSync(join(cluster.home, 'down-checked'), '');
  });
});
